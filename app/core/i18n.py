"""User-facing messages, Vietnamese first, with English."""

from collections.abc import Mapping

Language = str  # "vi" or "en"
SUPPORTED = ("vi", "en")

# key -> (Vietnamese, English). Messages may hold `{name}` placeholders.
MESSAGES: Mapping[str, tuple[str, str]] = {
    # generic problems
    "validation.title": ("Dữ liệu không hợp lệ", "Invalid input"),
    "validation.detail": (
        "Một số trường không hợp lệ; xem danh sách lỗi.",
        "Some fields are invalid; see the list of errors.",
    ),
    "not_found.title": ("Không tìm thấy", "Not found"),
    "not_found.detail": ("Không tìm thấy {what}.", "{what} was not found."),
    "conflict.title": ("Xung đột dữ liệu", "Conflict"),
    "forbidden.title": ("Không được phép", "Forbidden"),
    "forbidden.detail": (
        "Bạn không có quyền thực hiện thao tác này.",
        "You are not allowed to do this.",
    ),
    "unauthorized.title": ("Chưa xác thực", "Not authenticated"),
    "unauthorized.detail": (
        "Cần mã truy cập hợp lệ (Bearer).",
        "A valid bearer access token is required.",
    ),
    "login_failed.detail": (
        "Tên đăng nhập hoặc mật khẩu không đúng.",
        "Wrong username or password.",
    ),
    "too_many.title": ("Quá nhiều yêu cầu", "Too many requests"),
    "too_many_logins.detail": (
        "Đăng nhập sai quá nhiều lần. Thử lại sau {seconds} giây.",
        "Too many failed sign-ins. Try again in {seconds} seconds.",
    ),
    "too_large.title": ("Dữ liệu gửi lên quá lớn", "Payload too large"),
    "too_large.detail": (
        "Nội dung yêu cầu vượt quá {limit} byte.",
        "The request body exceeds {limit} bytes.",
    ),
    "too_large.part_detail": (
        "Một phần của biểu mẫu gửi lên vượt quá kích thước cho phép.",
        "A part of the submitted form exceeds the allowed size.",
    ),
    "body.unreadable": (
        "Không đọc được nội dung yêu cầu: phải là JSON mã UTF-8 hoặc biểu mẫu hợp lệ.",
        "The request body cannot be read: it must be UTF-8 JSON or a well-formed form.",
    ),
    "text.nul": (
        "Văn bản không được chứa ký tự NUL.",
        "Text cannot contain a NUL character.",
    ),
    "int.range": (
        "Số phải nằm trong khoảng {low} đến {high}.",
        "The number must lie between {low} and {high}.",
    ),
    "date.range": (
        "Ngày phải nằm trong khoảng {first} đến {last}.",
        "The date must lie between {first} and {last}.",
    ),
    "datetime.future": ("Thời điểm không được ở tương lai.", "The time cannot be in the future."),
    "completion.before_birth": (
        "Ngày hoàn thành không được trước ngày sinh của người học.",
        "The completion cannot be dated before the learner's birth.",
    ),
    "method.title": ("Phương thức không được hỗ trợ", "Method not allowed"),
    "http.title": ("Lỗi yêu cầu", "Request error"),
    "internal.title": ("Lỗi hệ thống", "Internal server error"),
    "internal.detail": (
        "Đã xảy ra lỗi không mong muốn; yêu cầu không được thực hiện.",
        "An unexpected error occurred; the request was not carried out.",
    ),
    "busy.title": ("Hệ thống đang bận", "Service busy"),
    "busy.detail": (
        "Yêu cầu trùng với một thao tác khác và chưa được thực hiện; vui lòng gửi lại.",
        "The request clashed with another one and was not carried out; please send it again.",
    ),
    "invalid.title": ("Yêu cầu không hợp lệ", "Invalid request"),
    "bad_cursor.detail": ("Con trỏ phân trang không hợp lệ.", "Invalid pagination cursor."),
    # objects, used in not_found.detail
    "what.learner": ("người học", "The learner"),
    "what.commune": ("xã/phường", "The commune"),
    "what.legacy_commune": ("xã/phường cũ (trước 1/7/2025)", "The old (pre-July 2025) commune"),
    "what.province": ("tỉnh/thành phố", "The province"),
    "what.village": ("thôn/tổ dân phố", "The village"),
    "what.user": ("tài khoản", "The user"),
    "what.team": ("tổ công nghệ số", "The team"),
    "what.course": ("khóa học", "The course"),
    "what.program": ("chương trình", "The program"),
    "what.class": ("lớp học", "The class"),
    "what.completion": ("kết quả học", "The completion"),
    "what.vneid_certification": ("chứng nhận trong VNeID", "The certification in VNeID"),
    "what.resource": ("tài nguyên", "The resource"),
    "name.invisible": (
        "Tên chứa ký tự ẩn (ký tự độ rộng 0 hoặc điều khiển hướng chữ); hãy gõ lại.",
        "The name holds invisible characters (zero-width or text-direction controls); "
        "type it again.",
    ),
    # citizen ID and learner rules
    "citizen_id.shape": (
        "Số định danh cá nhân phải gồm đúng 12 chữ số.",
        "The personal ID number must be exactly 12 digits.",
    ),
    "citizen_id.province": (
        "Ba chữ số đầu của số định danh không phải mã tỉnh nơi đăng ký khai sinh hợp lệ.",
        "The first three digits are not a valid birth-registration province code.",
    ),
    "citizen_id.century": (
        "Chữ số thứ 4 của số định danh không khớp với giới tính và thế kỷ năm sinh.",
        "Digit 4 of the ID number does not match the sex and birth century.",
    ),
    "citizen_id.year": (
        "Chữ số thứ 5–6 của số định danh không khớp với năm sinh.",
        "Digits 5–6 of the ID number do not match the birth year.",
    ),
    "birth_date.future": (
        "Ngày sinh không thể ở tương lai.",
        "Birth date cannot be in the future.",
    ),
    "birth_date.too_old": ("Ngày sinh không hợp lý.", "Birth date is implausible."),
    "learner.duplicate": (
        "Người này đã được đăng ký trong hệ thống.",
        "This person is already registered.",
    ),
    "learner.client_reused": (
        "Mã client_id này đã dùng cho một người học khác.",
        "This client_id was already used for another learner.",
    ),
    "official.level_required": (
        "Cán bộ, công chức cần có cấp (xã/tỉnh) và cơ quan.",
        "Officials need a level (commune/province) and an agency.",
    ),
    "official.only": (
        "Cấp và cơ quan chỉ dành cho nhóm cán bộ, công chức.",
        "Level and agency apply only to officials.",
    ),
    "village.other_commune": (
        "Thôn/tổ dân phố không thuộc xã/phường này.",
        "The village does not belong to this commune.",
    ),
    "village.duplicate": (
        "Xã/phường đã có thôn/tổ dân phố cùng tên.",
        "The commune already has a village with this name.",
    ),
    "commune.unknown": ("Mã xã/phường không tồn tại.", "Unknown commune code."),
    "commune.old_code_only": (
        "Mã {code} chỉ có trong danh mục cũ (trước 1/7/2025); tra cứu xã mới ở legacy_commune.",
        "{code} is a code of the old map (before 1 July 2025) only; look up its new commune"
        " at legacy_commune.",
    ),
    "legacy.unknown": (
        "Không có xã/phường cũ (trước 1/7/2025) mang mã {old}.",
        "No commune of the old map (before 1 July 2025) has code {old}.",
    ),
    "legacy.split": (
        "Xã/phường cũ {old} ({where}) được chia vào nhiều xã/phường mới: {candidates}."
        " Hãy ghi mã xã/phường mới (hoặc thôn) của người này.",
        "The old commune {old} ({where}) was split between new communes: {candidates}."
        " Give this person's new commune code (or village).",
    ),
    "legacy.unmapped": (
        "Bảng chuyển đổi không ghi xã/phường cũ {old} ({where}) chuyển vào đâu;"
        " hãy ghi mã xã/phường mới.",
        "The conversion table does not say where the old commune {old} ({where}) went;"
        " give the new commune code.",
    ),
    "legacy.mismatch": (
        "Xã/phường cũ {old} không chuyển vào xã/phường mới {new}, mà vào: {candidates}.",
        "The old commune {old} did not go into the new commune {new} but into: {candidates}.",
    ),
    "legacy.district_mismatch": (
        'Mã cũ {old} là {where}, không thuộc huyện "{given}".',
        'Old code {old} is {where}, not in the district "{given}".',
    ),
    "legacy.name_mismatch": (
        'Mã cũ {old} là {where}, không phải "{given}".',
        'Old code {old} is {where}, not "{given}".',
    ),
    "province.unknown": ("Mã tỉnh/thành phố không tồn tại.", "Unknown province code."),
    # accounts
    "user.duplicate": ("Tên đăng nhập đã tồn tại.", "This username is taken."),
    "user.role_not_lower": (
        "Chỉ được tạo tài khoản có vai trò thấp hơn vai trò của bạn.",
        "You can only create accounts with a lower role than yours.",
    ),
    "user.role_not_lower_manage": (
        "Chỉ được quản lý tài khoản có vai trò thấp hơn vai trò của bạn.",
        "You can only manage accounts with a lower role than yours.",
    ),
    "user.scope_outside": (
        "Tài khoản mới phải nằm trong phạm vi quản lý của bạn.",
        "The new account must be inside your own scope.",
    ),
    "user.scope_missing": (
        "Vai trò này cần {name}.",
        "This role requires {name}.",
    ),
    "user.scope_extra": (
        "Vai trò này không dùng {name}.",
        "This role does not take {name}.",
    ),
    "user.team_required": (
        "Thành viên tổ công nghệ số phải thuộc một tổ của xã/phường.",
        "A team member must belong to a team of the commune.",
    ),
    "password.wrong_current": (
        "Mật khẩu hiện tại không đúng.",
        "The current password is wrong.",
    ),
    "password.unchanged": (
        "Mật khẩu mới phải khác mật khẩu hiện tại.",
        "The new password must differ from the current one.",
    ),
    "team.duplicate": (
        "Xã/phường đã có tổ cùng tên.",
        "The commune already has a team with this name.",
    ),
    # catalogue and training
    "course.duplicate": ("Mã khóa học đã tồn tại.", "This course code already exists."),
    "course.unknown": ("Mã khóa học không tồn tại.", "Unknown course code."),
    "course.inactive": ("Khóa học đã ngừng.", "The course is inactive."),
    "program.duplicate": ("Mã chương trình đã tồn tại.", "This program code already exists."),
    "program.empty": (
        "Chương trình phải có ít nhất một khóa học bắt buộc.",
        "A program needs at least one required course.",
    ),
    "completion.future": (
        "Thời điểm hoàn thành không thể ở tương lai.",
        "Completion time cannot be in the future.",
    ),
    "completion.client_reused": (
        "Mã client_id này đã dùng cho một kết quả khác.",
        "This client_id was already used for a different record.",
    ),
    "completion.class_mismatch": (
        "Lớp học không khớp với khóa học hoặc xã/phường của người học.",
        "The class does not match the course or the learner's commune.",
    ),
    "class.learner_commune": (
        "Người học không thuộc xã/phường của lớp.",
        "The learner is not in the class's commune.",
    ),
    "attendance.duplicate_learner": (
        "Một người học xuất hiện nhiều lần trong danh sách điểm danh.",
        "A learner appears more than once in the attendance list.",
    ),
    "program.duplicate_course": (
        "Khóa học này đã có trong danh sách của chương trình.",
        "This course is already in the program's list.",
    ),
    "program.recount_pending": (
        "Các chỉ tiêu đang được tính lại theo lần sửa chương trình trước; hãy thử lại sau khi"
        " việc tính lại xong (GET /api/v1/stats/recount).",
        "The indicators are still being recounted after the last change to a program's"
        " standard; try again once the recount has finished (GET /api/v1/stats/recount).",
    ),
    "program.default_taken": (
        "Nhóm đối tượng này đã có một chương trình mặc định khác.",
        "Another program is already the default for this group.",
    ),
    "class.future": ("Ngày học không thể ở tương lai.", "The class date cannot be in the future."),
    "class.commune_required": (
        "Cần chọn xã/phường nơi tổ chức lớp.",
        "Choose the commune where the class was held.",
    ),
    "team.other_commune": (
        "Tổ công nghệ số không thuộc xã/phường này.",
        "The team does not belong to this commune.",
    ),
    # certificates, VNeID and learner sign-in
    "what.certificate": ("chứng nhận", "The certificate"),
    "certificate.already_revoked": (
        "Chứng nhận này đã bị thu hồi.",
        "This certificate is already revoked.",
    ),
    "auth.learner_on_staff": (
        "Tài khoản người học không được dùng chức năng dành cho cán bộ.",
        "A learner's sign-in does not open staff endpoints.",
    ),
    "delivery.not_redeliverable": (
        "Không thể gửi lại chứng nhận này sang VNeID: {reason}.",
        "This certificate cannot be sent to VNeID again: {reason}.",
    ),
    "delivery.reason.revoked": ("chứng nhận đã bị thu hồi", "it is revoked"),
    "delivery.reason.erased": (
        "dữ liệu của người được cấp đã bị xóa theo yêu cầu",
        "the holder's data was erased on request",
    ),
    "delivery.reason.delivered": ("VNeID đã nhận chứng nhận này", "VNeID already holds it"),
    "certificate.not_revoked": (
        "Chứng nhận này không bị thu hồi.",
        "This certificate is not revoked.",
    ),
    "certificate.holder_erased": (
        "Dữ liệu định danh của người giữ chứng nhận đã bị xóa; không thể khôi phục chứng nhận.",
        "The holder's identifying data was erased; the certificate cannot be reinstated.",
    ),
    "certificate.not_attained": (
        "Kết quả học hiện tại không còn đạt chuẩn của chương trình; hãy sửa kết quả học trước.",
        "The learner's results no longer meet the program's standard; correct the results first.",
    ),
    "certificate.superseded": (
        "Người học đã có một chứng nhận còn hiệu lực của chương trình này.",
        "The learner already holds a valid certificate of this program.",
    ),
    "completion.correction_empty": (
        "Cần sửa điểm hoặc thời điểm hoàn thành.",
        "Give a new score or completion time.",
    ),
    "vneid.unavailable.title": ("VNeID tạm thời không phản hồi", "VNeID is unavailable"),
    "vneid.unavailable.detail": (
        "Không liên lạc được với VNeID; vui lòng thử lại sau.",
        "VNeID could not be reached; please try again later.",
    ),
    "vneid.identity_mismatch": (
        "VNeID không xác nhận số định danh này với họ tên và ngày sinh đã nhập.",
        "VNeID does not confirm this ID number with this name and birth date.",
    ),
    "vneid.bad_id_token": (
        "Mã đăng nhập VNeID không hợp lệ, đã hết hạn hoặc không dành cho hệ thống này.",
        "The VNeID sign-in token is invalid, expired or meant for another service.",
    ),
    "vneid.not_registered": (
        "Bạn chưa được đăng ký là người học; hãy liên hệ tổ công nghệ số cộng đồng.",
        "You are not registered as a learner; please contact your community digital team.",
    ),
    "vneid.learner_only": (
        "Chức năng này dành cho người học đăng nhập bằng VNeID.",
        "This is for learners signed in with VNeID.",
    ),
    "vneid.duplicate": (
        "VNeID đã tiếp nhận chứng nhận này trước đó.",
        "VNeID already received this certificate.",
    ),
    "vneid.unknown_citizen": (
        "Không tìm thấy công dân này trong VNeID.",
        "This citizen is not known to VNeID.",
    ),
    "vneid.holder_mismatch": (
        "Họ tên trên chứng nhận không khớp với công dân.",
        "The name on the certificate does not match the citizen.",
    ),
    "vneid.bad_credential": (
        "Chứng nhận không hợp lệ: sai chữ ký, sai loại hoặc không rõ khóa ký.",
        "Invalid credential: bad signature, wrong type or unknown signing key.",
    ),
    "vneid.sign_in_failed": (
        "Số định danh hoặc mật mã VNeID không đúng.",
        "Wrong ID number or VNeID passcode.",
    ),
    "vneid.unknown_client": ("Ứng dụng không được đăng ký.", "Unknown client application."),
    "vneid.too_many_attempts": (
        "Nhập sai mật mã quá nhiều lần; vui lòng thử lại sau {minutes} phút.",
        "Too many wrong passcodes; please try again in {minutes} minutes.",
    ),
    "vneid.invalid_grant.title": ("Mã ủy quyền không hợp lệ", "Invalid authorization code"),
    "vneid.invalid_grant.detail": (
        "Mã ủy quyền không hợp lệ, đã dùng, đã hết hạn hoặc không khớp với yêu cầu.",
        "The authorization code is invalid, used, expired or does not match the request.",
    ),
    "vneid.unsupported_grant": (
        "Loại cấp quyền không được hỗ trợ.",
        "This grant type is not supported.",
    ),
    "vneid.citizen_exists": (
        "Công dân này đã có trong danh bạ VNeID (mô phỏng).",
        "This citizen is already in the mock VNeID's registry.",
    ),
    "vneid.demo_only": (
        "Chỉ thêm được công dân thử nghiệm vào VNeID mô phỏng khi không chạy ở môi trường thật.",
        "Demonstration citizens can be added to the mock VNeID only outside production.",
    ),
    "vneid.replayed_id_token": (
        "Mã đăng nhập VNeID này đã được dùng; vui lòng đăng nhập lại.",
        "This VNeID sign-in token was already used; please sign in again.",
    ),
    # field work: phone sync and imports
    "what.import": ("lượt nhập dữ liệu", "The import"),
    "sync.too_many": (
        "Một lần đồng bộ chỉ được tối đa {limit} bản ghi.",
        "A sync batch holds at most {limit} records.",
    ),
    "sync.key_in_progress": (
        "Yêu cầu với Idempotency-Key này đang được xử lý; hãy gửi lại sau ít giây.",
        "A request with this Idempotency-Key is still being processed; retry in a few seconds.",
    ),
    "sync.key_reused": (
        "Idempotency-Key này đã được dùng cho một yêu cầu khác.",
        "This Idempotency-Key was already used for a different request.",
    ),
    "sync.learner_ref": (
        "Cần đúng một trong hai: learner_id hoặc learner_client_id.",
        "Give exactly one of learner_id or learner_client_id.",
    ),
    "import.encoding": (
        "Tệp CSV phải dùng mã UTF-8 (trong Excel: Lưu thành CSV UTF-8).",
        "CSV files must be UTF-8 (in Excel: Save as CSV UTF-8).",
    ),
    "import.not_csv_or_xlsx": (
        "Tệp không phải CSV hay XLSX. Chỉ nhận tệp CSV (UTF-8) hoặc sổ làm việc Excel .xlsx; "
        "tệp .xls, PDF, Word hay ảnh cần lưu lại thành .xlsx hoặc CSV UTF-8.",
        "The file is neither CSV nor XLSX. Only CSV (UTF-8) files or .xlsx Excel workbooks are "
        "accepted; save a .xls, PDF, Word file or image again as .xlsx or CSV UTF-8.",
    ),
    "import.bad_date": (
        "Ngày không hợp lệ: ghi theo dạng dd/mm/yyyy (ví dụ 12/04/1985) hoặc yyyy-mm-dd.",
        "Invalid date: write it as dd/mm/yyyy (e.g. 12/04/1985) or yyyy-mm-dd.",
    ),
    "import.empty": (
        "Tệp trống hoặc không có dòng tiêu đề.",
        "The file is empty or has no header.",
    ),
    "import.unreadable": (
        "Không đọc được tệp: tệp hỏng hoặc không phải CSV/XLSX.",
        "The file cannot be read: it is damaged or not CSV/XLSX.",
    ),
    "import.duplicate_column": (
        "Cột “{column}” xuất hiện nhiều lần.",
        "The column “{column}” appears more than once.",
    ),
    "import.missing_columns": (
        "Tệp thiếu cột bắt buộc: {columns}. Xem tệp mẫu.",
        "The file lacks required columns: {columns}. See the template.",
    ),
    "import.village_unknown": (
        "Xã/phường không có thôn/tổ dân phố tên này.",
        "The commune has no village of this name.",
    ),
    "import.uploader_inactive": (
        "Tài khoản tải tệp lên đã bị khóa; lượt nhập dừng lại.",
        "The uploader's account is disabled; the import stopped.",
    ),
    "import.file_missing": (
        "Không còn tệp tải lên trên máy chủ; hãy tải lên lại (các dòng đã lưu không bị trùng).",
        "The uploaded file is gone from the server; upload it again (stored rows stay single).",
    ),
    "import.internal": (
        "Lượt nhập dừng vì lỗi hệ thống; các dòng đã lưu vẫn còn. Hãy tải lên lại tệp.",
        "The import stopped on a system error; stored rows are kept. Upload the file again.",
    ),
    "import.malformed_xml": (
        "Không đọc được tệp XLSX: nội dung XML bị hỏng, bị cắt cụt hoặc chứa khai báo thực thể.",
        "The XLSX file cannot be read: its XML is damaged, cut short or declares entities.",
    ),
    "import.too_many_parts": (
        "Tệp XLSX có quá nhiều phần bên trong để là một danh sách.",
        "The XLSX file holds too many parts to be a list.",
    ),
    "import.inflated_too_large": (
        "Tệp XLSX khi giải nén vượt quá kích thước cho phép.",
        "The XLSX file inflates beyond the allowed size.",
    ),
    "import.inflation_ratio": (
        "Tệp XLSX có phần nén với tỉ lệ bất thường (nghi là bom nén).",
        "The XLSX file has a part compressed at an abnormal ratio (a suspected zip bomb).",
    ),
    "import.too_many_rows": (
        "Tệp có nhiều dòng hơn mức một tệp được phép; hãy chia thành nhiều tệp. "
        "Các dòng đã lưu được giữ.",
        "The file holds more rows than a file may; split it into several files. "
        "Stored rows are kept.",
    ),
    "import.too_many_rejected": (
        "Lượt nhập dừng vì có quá nhiều dòng bị từ chối; hãy sửa tệp theo các lý do và "
        "tải lên lại (các dòng đã lưu không bị trùng).",
        "The import stopped: too many rows were refused. Correct the file by the reasons "
        "and upload it again (stored rows stay single).",
    ),
    "import.row_column": ("Dòng", "Row"),
    "import.reason_column": ("Lý do", "Reason"),
    "import.candidates_column": ("Xã/phường mới có thể chọn", "Candidate new communes"),
    "import.scheme_learners_only": (
        "Chỉ tệp người học mới ghi được mã xã cũ.",
        "Only a file of learners may give old commune codes.",
    ),
    "import.yes": ("Bắt buộc", "Required"),
    "import.no": ("Không bắt buộc", "Optional"),
    "import.guide_column": ("Cột (tiếng Việt)", "Column (Vietnamese)"),
    "import.guide_english": ("Cột (tiếng Anh)", "Column (English)"),
    "import.guide_required": ("Bắt buộc?", "Required?"),
    "import.guide_example": ("Ví dụ", "Example"),
    # indicators, baselines and targets
    "baseline.year": (
        "Năm phải từ {first} đến {last}.",
        "The year must be between {first} and {last}.",
    ),
    "baseline.commune_outside": (
        "Xã/phường không thuộc tỉnh này.",
        "The commune is not in this province.",
    ),
    "baseline.below_registered": (
        "Số liệu thấp hơn số người đã đăng ký.",
        "The figure is lower than the number already registered.",
    ),
    "target.rate_range": (
        "Tỷ lệ mục tiêu phải từ 0 đến 1 (ví dụ 0.8 là 80%).",
        "A target rate must be between 0 and 1 (0.8 means 80 %).",
    ),
    "target.count_whole": ("Mục tiêu số lượng phải là số nguyên.", "A count target must be whole."),
    "target.scope_code": (
        "Phạm vi toàn quốc không có mã.",
        "The national scope takes no code.",
    ),
}


def negotiate(accept_language: str | None) -> Language:
    """Pick "vi" or "en" from an Accept-Language header; Vietnamese by default."""
    if not accept_language:
        return "vi"
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary not in SUPPORTED or quality <= 0:
            continue
        candidate = (-quality, position, primary)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else "vi"


def translate(key: str, lang: Language, **params: object) -> str:
    """The message for `key` in `lang`, with placeholders filled."""
    vi, en = MESSAGES.get(key, (key, key))
    text = en if lang == "en" else vi
    resolved = {
        name: translate(str(value), lang) if isinstance(value, str) and value in MESSAGES else value
        for name, value in params.items()
    }
    return text.format(**resolved) if resolved else text


# Messages for pydantic's own validation error types (others fall back to pydantic's text).
VALIDATION_TYPES: Mapping[str, tuple[str, str]] = {
    "missing": ("Thiếu trường bắt buộc.", "Field required."),
    "extra_forbidden": ("Trường này không được phép gửi lên.", "This field is not allowed."),
    "string_too_short": ("Chuỗi quá ngắn.", "Text is too short."),
    "string_too_long": ("Chuỗi quá dài.", "Text is too long."),
    "string_pattern_mismatch": ("Sai định dạng.", "Wrong format."),
    "string_type": ("Phải là chuỗi ký tự.", "Must be text."),
    "int_parsing": ("Phải là số nguyên.", "Must be a whole number."),
    "int_type": ("Phải là số nguyên.", "Must be a whole number."),
    "float_parsing": ("Phải là số.", "Must be a number."),
    "date_from_datetime_parsing": ("Ngày không hợp lệ (YYYY-MM-DD).", "Invalid date (YYYY-MM-DD)."),
    "date_parsing": ("Ngày không hợp lệ (YYYY-MM-DD).", "Invalid date (YYYY-MM-DD)."),
    "date_type": ("Ngày không hợp lệ (YYYY-MM-DD).", "Invalid date (YYYY-MM-DD)."),
    "datetime_parsing": ("Thời điểm không hợp lệ (ISO 8601).", "Invalid date-time (ISO 8601)."),
    "datetime_from_date_parsing": (
        "Thời điểm không hợp lệ (ISO 8601).",
        "Invalid date-time (ISO 8601).",
    ),
    "enum": ("Giá trị không thuộc danh sách cho phép.", "Value is not one of the allowed ones."),
    "literal_error": (
        "Giá trị không thuộc danh sách cho phép.",
        "Value is not one of the allowed ones.",
    ),
    "greater_than_equal": ("Giá trị quá nhỏ.", "Value is too small."),
    "less_than_equal": ("Giá trị quá lớn.", "Value is too large."),
    "greater_than": ("Giá trị quá nhỏ.", "Value is too small."),
    "less_than": ("Giá trị quá lớn.", "Value is too large."),
    "too_long": ("Quá nhiều phần tử.", "Too many items."),
    "too_short": ("Quá ít phần tử.", "Too few items."),
    "uuid_parsing": ("Mã định danh (UUID) không hợp lệ.", "Invalid identifier (UUID)."),
    "json_invalid": ("Nội dung JSON không hợp lệ.", "Invalid JSON body."),
    "model_attributes_type": ("Phải là một đối tượng JSON.", "Must be a JSON object."),
    "dict_type": ("Phải là một đối tượng JSON.", "Must be a JSON object."),
    "list_type": ("Phải là một danh sách.", "Must be a list."),
    "bool_parsing": ("Phải là true hoặc false.", "Must be true or false."),
    "value_error": ("Giá trị không hợp lệ.", "Invalid value."),
}


def validation_message(error_type: str, fallback: str, lang: Language, **params: object) -> str:
    """A readable message for one field error."""
    if error_type in MESSAGES:
        return translate(error_type, lang, **params)
    if error_type in VALIDATION_TYPES:
        vi, en = VALIDATION_TYPES[error_type]
        return en if lang == "en" else vi
    return fallback
