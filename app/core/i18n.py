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
    "province.unknown": ("Mã tỉnh/thành phố không tồn tại.", "Unknown province code."),
    # accounts
    "user.duplicate": ("Tên đăng nhập đã tồn tại.", "This username is taken."),
    "user.role_not_lower": (
        "Chỉ được tạo tài khoản có vai trò thấp hơn vai trò của bạn.",
        "You can only create accounts with a lower role than yours.",
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
    "import.row_column": ("Dòng", "Row"),
    "import.reason_column": ("Lý do", "Reason"),
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
