import pytest

from einspection import pdf
from einspection.errors import ServiceUnavailable


def test_a_missing_font_is_an_unavailable_printout_naming_the_font(tmp_path):
    missing = str(tmp_path / "no-such-font.ttc")
    with pytest.raises(ServiceUnavailable) as raised:
        pdf.label_font(missing)
    assert raised.value.status == 503
    assert missing in raised.value.message and "QR_SHEET_FONT" in raised.value.message
