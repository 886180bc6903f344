"""A certificate as a PDF: one A4 landscape page, its text in a TrueType CJK font embedded in the
file (a subset of it), and a QR code of its public verification URL. Rendering is blocking and
CPU-bound: call ``render`` in a worker thread.

reportlab embeds TrueType outlines only (not the CFF outlines of Noto CJK), so the font is a
TrueType one such as WenQuanYi Zen Hei (Debian's fonts-wqy-zenhei), given by path.
"""

from __future__ import annotations

import io
import threading
from datetime import datetime
from pathlib import Path
from typing import Final

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from ledger.model import BEIJING, format_hours
from sso.certificates.errors import CertificateFontMissing
from sso.certificates.model import Certificate, CertificateStatus

__all__ = ["FONT_NAME", "CertificatePdf"]

FONT_NAME: Final = "HubCertificateCJK"
PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN: Final = 14 * mm
QR_SIZE: Final = 34 * mm
INK: Final = HexColor("#1f2933")
RED: Final = HexColor("#b3261e")
GOLD: Final = HexColor("#a67c00")
REVOKED_STAMP: Final = Color(0.7, 0.15, 0.12, alpha=0.35)
SUBJECT: Final = "培训合格证书"
SUBFONT_INDEX: Final = 0
"""The face of a TrueType collection (.ttc) to use: the first, the regular one of Zen Hei."""


class CertificatePdf:
    """Renders certificates with the TrueType font at ``font_file``, loaded on first use."""

    def __init__(self, font_file: Path, issuer_name: str) -> None:
        self._font_file = font_file
        self._issuer_name = issuer_name
        self._lock = threading.Lock()
        self._registered = False

    @property
    def font_file(self) -> Path:
        return self._font_file

    def check_font(self) -> None:
        """Raises ``CertificateFontMissing`` unless the font file exists."""
        if not self._font_file.is_file():
            raise CertificateFontMissing(
                f"the certificate font {self._font_file} does not exist: install fonts-wqy-zenhei "
                "(make setup) or set certificates.font_file"
            )

    def render(self, certificate: Certificate, verify_url: str, kid: str) -> bytes:
        """The PDF of ``certificate``, its QR code pointing at ``verify_url``; ``kid`` names the key
        that signed it. Raises ``CertificateFontMissing``."""
        self._register_font()
        buffer = io.BytesIO()
        canvas = Canvas(
            buffer,
            pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
            initialFontName=FONT_NAME,  # type: ignore[arg-type]  # types-reportlab says float, a mistake of the stubs
            invariant=True,
        )
        canvas.setTitle(f"{SUBJECT} {certificate.number}")
        canvas.setSubject(SUBJECT)
        canvas.setAuthor(self._issuer_name)
        self._frame(canvas)
        self._text(canvas, certificate, kid)
        _qr_code(canvas, verify_url, PAGE_WIDTH - MARGIN - 12 * mm - QR_SIZE, MARGIN + 16 * mm)
        canvas.setFont(FONT_NAME, 9)
        canvas.drawCentredString(PAGE_WIDTH - MARGIN - 12 * mm - QR_SIZE / 2, MARGIN + 11 * mm, "扫码核验证书真伪")
        if certificate.status is CertificateStatus.REVOKED:
            _revoked_stamp(canvas, certificate.revoked_at)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    def _register_font(self) -> None:
        with self._lock:
            if self._registered:
                return
            self.check_font()
            # reportlab's font registry is process-wide; the name is the hub's own, so it is registered once.
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(self._font_file), subfontIndex=SUBFONT_INDEX))
            self._registered = True

    @staticmethod
    def _frame(canvas: Canvas) -> None:
        canvas.setStrokeColor(GOLD)
        canvas.setLineWidth(3)
        canvas.rect(MARGIN, MARGIN, PAGE_WIDTH - 2 * MARGIN, PAGE_HEIGHT - 2 * MARGIN)
        canvas.setLineWidth(0.8)
        inset = MARGIN + 3 * mm
        canvas.rect(inset, inset, PAGE_WIDTH - 2 * inset, PAGE_HEIGHT - 2 * inset)

    def _text(self, canvas: Canvas, certificate: Certificate, kid: str) -> None:
        facts = certificate.facts
        left = MARGIN + 22 * mm
        canvas.setFillColor(RED)
        canvas.setFont(FONT_NAME, 40)
        canvas.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - MARGIN - 30 * mm, SUBJECT)
        canvas.setFillColor(INK)
        canvas.setFont(FONT_NAME, 12)
        canvas.drawRightString(
            PAGE_WIDTH - MARGIN - 12 * mm, PAGE_HEIGHT - MARGIN - 12 * mm, f"证书编号：{facts.certificate_no}"
        )
        total = format_hours(facts.public + facts.professional)
        lines = (
            f"{certificate.name} 同志：",
            f"工作单位：{certificate.unit_name}",
            f"参加{facts.year}年度事业单位工作人员培训，累计完成{total}学时，",
            f"其中公共科目{format_hours(facts.public)}学时、专业科目{format_hours(facts.professional)}学时，",
            "经审核，达到年度培训学时要求，特发此证。",
        )
        canvas.setFont(FONT_NAME, 17)
        for index, line in enumerate(lines):
            canvas.drawString(left, PAGE_HEIGHT - MARGIN - 55 * mm - index * 12 * mm, line)
        issued = facts.issued_at.astimezone(BEIJING)
        canvas.setFont(FONT_NAME, 14)
        canvas.drawString(left, MARGIN + 38 * mm, f"发证机构：{self._issuer_name}")
        canvas.drawString(left, MARGIN + 28 * mm, f"发证日期：{issued.year}年{issued.month:02d}月{issued.day:02d}日")
        canvas.setFont(FONT_NAME, 8)
        canvas.drawString(
            left, MARGIN + 12 * mm, f"本证书数据经平台文件签名密钥（Ed25519，kid {kid}）签名，可凭编号在线核验。"
        )


def _qr_code(canvas: Canvas, url: str, x: float, y: float) -> None:
    widget = QrCodeWidget(url, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (right - left), 0, 0, QR_SIZE / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def _revoked_stamp(canvas: Canvas, revoked_at: datetime | None) -> None:
    canvas.saveState()
    canvas.setFillColor(REVOKED_STAMP)
    canvas.translate(PAGE_WIDTH / 2, PAGE_HEIGHT / 2)
    canvas.rotate(20)
    canvas.setFont(FONT_NAME, 90)
    canvas.drawCentredString(0, 0, "已撤销")
    if revoked_at is not None:
        revoked = revoked_at.astimezone(BEIJING)
        canvas.setFont(FONT_NAME, 20)
        canvas.drawCentredString(0, -30 * mm, f"撤销日期 {revoked.year}年{revoked.month:02d}月{revoked.day:02d}日")
    canvas.restoreState()
