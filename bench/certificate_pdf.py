"""Certificate PDFs rendered per second through the hub's renderer (a page of text in the embedded
TrueType CJK font, subset on each render, and a QR code), against reportlab writing an empty page,
in the same run.

    python -m bench.certificate_pdf [--pdfs 200] [--font /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc]

The font is loaded once per process, before the timing, as the hub does on its first download.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from config.settings import CertificatesSettings
from ledger.model import Hours, PersonId
from sso.certificates.model import Certificate, CertificateBasis, CertificateStatus, SignedFacts, new_certificate_number
from sso.certificates.pdf import CertificatePdf

ROUNDS = 5
VERIFY_BASE = "https://hub.example/verify/"


def _certificate() -> Certificate:
    return Certificate(
        facts=SignedFacts(
            certificate_no=new_certificate_number(2021),
            name_masked="欧***",
            year=2021,
            public=Hours(3050),
            professional=Hours(6000),
            issued_at=datetime(2021, 12, 1, tzinfo=UTC),
            issuer="https://hub.example",
        ),
        person_id=PersonId("bench"),
        name="欧阳娜娜",
        unit_name="长沙市中心医院",
        basis=CertificateBasis.AUTOMATIC,
        ledger_seq=1,
        signature="x.y.z",
        status=CertificateStatus.VALID,
        revoked_at=None,
        revoked_reason=None,
    )


def _empty_page() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=landscape(A4), invariant=True)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _rate(render: Callable[[], bytes], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        render()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=200)
    parser.add_argument("--font", type=Path, default=CertificatesSettings().font_file)
    arguments = parser.parse_args()
    renderer = CertificatePdf(arguments.font, "湖南省事业单位工作人员培训管理平台")
    certificate = _certificate()
    url = VERIFY_BASE + certificate.number
    size = len(renderer.render(certificate, url, "kid"))  # loads the font, outside the timing
    hub, bare = 0.0, 0.0
    for _ in range(ROUNDS):  # interleaved, best of each: a busy moment hurts both alike
        hub = max(hub, _rate(lambda: renderer.render(certificate, url, "kid"), arguments.pdfs))
        bare = max(bare, _rate(_empty_page, arguments.pdfs))
    print("certificate PDFs per second (ratio = hub / an empty reportlab page, same run)")
    print(f"  hub {hub:8.0f}   empty page {bare:8.0f}   ratio {hub / bare:.3f}   ({size} bytes each)")


if __name__ == "__main__":
    main()
