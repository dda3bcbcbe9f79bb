"""HTML pages: the public verification page and the printable certificate, with a QR code."""

from datetime import date
from html import escape

import qrcode
import qrcode.image.svg

from app.certificates.schemas import CertificatePublic, Verification
from app.core.clock import local_date

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 48rem; color: #1b1b1b; }
.card { border: 6px double #b22222; padding: 2rem 2.5rem; text-align: center; }
.status { font-weight: bold; font-size: 1.2rem; }
.valid { color: #137333; } .revoked { color: #b00020; }
.qr svg { width: 9rem; height: 9rem; }
dl { display: grid; grid-template-columns: auto auto; gap: .3rem 1rem; text-align: left;
     justify-content: center; }
dt { font-weight: 600; } .small { font-size: .8rem; color: #555; word-break: break-all; }
@media print { body { margin: 0; } }
"""


def qr_svg(url: str) -> str:
    """An inline SVG QR code of `url`."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    svg: str = image.to_string(encoding="unicode")
    return svg


def _day(value: date) -> str:
    """Dates as people in Vietnam write them, day first: 20/10/2025."""
    return value.strftime("%d/%m/%Y")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def _status(valid: bool, revoked: bool, erased: bool = False) -> str:
    if erased:
        return (
            '<p class="status revoked">ĐÃ XÓA THEO YÊU CẦU NGƯỜI ĐƯỢC CẤP / '
            "ERASED AT THE HOLDER'S REQUEST</p>"
        )
    if revoked:
        return '<p class="status revoked">ĐÃ THU HỒI / REVOKED</p>'
    if valid:
        return '<p class="status valid">HỢP LỆ / VALID</p>'
    return '<p class="status revoked">KHÔNG XÁC MINH ĐƯỢC / NOT VERIFIED</p>'


def verification_page(result: Verification, page_url: str) -> str:
    """What anyone sees after scanning the QR code: minimal disclosure."""
    revoked_row = (
        f"<dt>Ngày thu hồi / Revoked on</dt><dd>{result.revoked_on.isoformat()}</dd>"
        if result.revoked_on
        else ""
    )
    body = f"""
<div class="card">
  <h1>Xác minh chứng nhận kỹ năng số<br><small>Certificate verification</small></h1>
  {_status(result.valid, result.status == "revoked", result.status == "erased")}
  <dl>
    <dt>Người được cấp / Holder</dt><dd>{escape(result.holder_name)}</dd>
    <dt>Chương trình / Program</dt>
    <dd>{escape(result.program_title)} ({escape(result.program_code)})</dd>
    <dt>Ngày đạt chuẩn / Attained on</dt><dd>{_day(result.attained_on)}</dd>
    <dt>Ngày cấp / Issued on</dt><dd>{_day(result.issued_on)}</dd>
    {revoked_row}
    <dt>Đơn vị cấp / Issuer</dt><dd>{escape(result.issuer)}</dd>
  </dl>
  <div class="qr">{qr_svg(page_url)}</div>
  <p class="small">Mã chứng nhận / Certificate id: {result.id}</p>
</div>"""
    return _page("Xác minh chứng nhận / Certificate verification", body)


def not_found_page() -> str:
    """What a scan of a wrong or damaged code shows."""
    body = """
<div class="card">
  <h1>Không tìm thấy chứng nhận<br><small>Certificate not found</small></h1>
  <p class="status revoked">KHÔNG CÓ CHỨNG NHẬN NÀY / NO SUCH CERTIFICATE</p>
  <p>Mã trên đường dẫn không khớp với chứng nhận nào. Hãy quét lại mã QR hoặc kiểm tra đường
  dẫn.<br>The address names no certificate: scan the QR code again or check the link.</p>
</div>"""
    return _page("Không tìm thấy chứng nhận / Certificate not found", body)


def printable_page(certificate: CertificatePublic, page_url: str) -> str:
    """The certificate to print and hand over, with a QR code that leads to verification."""
    revoked = certificate.status == "revoked"
    body = f"""
<div class="card">
  <p>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br>Độc lập – Tự do – Hạnh phúc</p>
  <h1>CHỨNG NHẬN<br><small>Certificate of digital skills</small></h1>
  <p>Chứng nhận Ông/Bà / This certifies that</p>
  <h2>{escape(certificate.holder_name)}</h2>
  <p>đã đạt / has attained</p>
  <h3>{escape(certificate.program_title)}</h3>
  <p>ngày đạt chuẩn / attained on {_day(local_date(certificate.attained_at))}</p>
  <p>Phong trào “Bình dân học vụ số” — ngày cấp / issued on
     {_day(local_date(certificate.issued_at))}</p>
  {_status(not revoked, revoked) if revoked else ""}
  <div class="qr">{qr_svg(page_url)}</div>
  <p class="small">Quét mã để xác minh / Scan to verify: {escape(page_url)}</p>
  <p class="small">Mã chứng nhận / Certificate id: {certificate.id}</p>
</div>"""
    return _page(f"Chứng nhận — {certificate.holder_name}", body)
