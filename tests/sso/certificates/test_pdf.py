"""The certificate's PDF, opened as a reader would: its embedded TrueType font, its text, its QR code."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ledger.model import Hours, PersonId
from sso.certificates.errors import CertificateFontMissing
from sso.certificates.model import (
    Certificate,
    CertificateBasis,
    CertificateStatus,
    SignedFacts,
    new_certificate_number,
)
from sso.certificates.pdf import CertificatePdf

from .conftest import FONT_FILE, ISSUER_NAME

VERIFY_URL = "http://127.0.0.1:8080/verify/"


def _certificate() -> Certificate:
    number = new_certificate_number(2021)
    return Certificate(
        facts=SignedFacts(
            certificate_no=number,
            name_masked="欧***",
            year=2021,
            public=Hours(3050),
            professional=Hours(6000),
            issued_at=datetime(2021, 11, 30, 17, 0, tzinfo=UTC),
            issuer="http://127.0.0.1:8080",
        ),
        person_id=PersonId("p"),
        name="欧阳娜娜",
        unit_name="长沙市中心医院",
        basis=CertificateBasis.AUTOMATIC,
        ledger_seq=4,
        signature="x.y.z",
        status=CertificateStatus.VALID,
        revoked_at=None,
        revoked_reason=None,
    )


def _object(reference: Any) -> Any:
    return reference.get_object()


def _read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf), strict=True)


def test_the_pdf_embeds_its_truetype_cjk_font_and_says_who_and_what() -> None:
    certificate = _certificate()

    pdf = CertificatePdf(FONT_FILE, ISSUER_NAME).render(certificate, VERIFY_URL + certificate.number, "kid-1")

    reader = _read(pdf)
    (page,) = reader.pages
    fonts = {str(font["/BaseFont"]).split("+")[-1]: font for font in map(_object, page["/Resources"]["/Font"].values())}
    # A subset of Zen Hei's TrueType outlines is embedded (FontFile2). The QR code's drawing names
    # Helvetica, one of the 14 fonts every reader has, without writing a character in it.
    assert set(fonts) == {"WenQuanYiZenHei-0", "/Helvetica"}
    assert "/FontFile2" in fonts["WenQuanYiZenHei-0"]["/FontDescriptor"].get_object()
    text = page.extract_text()
    for expected in (
        "培训合格证书",
        "欧阳娜娜",
        certificate.number,
        "长沙市中心医院",
        "累计完成90.50学时",
        "公共科目30.50学时",
        "专业科目60.00学时",
        "2021年12月01日",  # issued at 01:00 Beijing time on 1 December
        ISSUER_NAME,
    ):
        assert expected in text, expected
    assert "已撤销" not in text
    assert reader.metadata is not None
    assert reader.metadata.title == f"培训合格证书 {certificate.number}"


def test_the_pdf_draws_a_qr_code() -> None:
    certificate = _certificate()
    renderer = CertificatePdf(FONT_FILE, ISSUER_NAME)

    short = renderer.render(certificate, VERIFY_URL + "x", "kid-1")
    long = renderer.render(certificate, VERIFY_URL + certificate.number + "?" + "x" * 200, "kid-1")

    # The QR code is drawn as vector modules: a longer URL takes more of them.
    assert _read(short).pages[0].get_contents() is not None
    assert len(_read(long).pages[0].get_contents().get_data()) > len(_read(short).pages[0].get_contents().get_data())  # type: ignore[union-attr]


def test_a_revoked_certificate_says_so_across_its_page() -> None:
    certificate = replace(
        _certificate(),
        status=CertificateStatus.REVOKED,
        revoked_at=datetime(2021, 12, 24, 3, 0, tzinfo=UTC),
        revoked_reason="有培训记录被撤销",
    )

    pdf = CertificatePdf(FONT_FILE, ISSUER_NAME).render(certificate, VERIFY_URL + certificate.number, "kid-1")

    text = _read(pdf).pages[0].extract_text()
    assert "已撤销" in text
    assert "2021年12月24日" in text


def test_without_its_font_no_pdf_is_made_and_the_error_names_the_setting(tmp_path: Path) -> None:
    renderer = CertificatePdf(tmp_path / "missing.ttc", ISSUER_NAME)

    with pytest.raises(CertificateFontMissing, match=r"certificates\.font_file"):
        renderer.render(_certificate(), VERIFY_URL, "kid-1")
