import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from wuye.core.validators import (
    id_number_checksum_ok,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_phone,
)

# A well-known valid sample from GB 11643's worked example.
VALID_ID = "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("0086 19912345678", "19912345678")],
)
def test_phone_numbers_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "1381234567", "138123456789", "12812345678", "abc", "23812345678"])
def test_bad_phone_numbers_are_refused_with_the_rule(raw):
    with pytest.raises(ValidationError) as error:
        normalize_phone(raw)
    assert error.value.code == "phone"


def test_a_real_id_number_passes_and_lower_case_x_is_accepted():
    assert normalize_id_number(VALID_ID.lower()) == VALID_ID


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("11010519491231002", "id_number_format"),
        ("1101051949123100XX", "id_number_format"),
        ("110105194913310021", "id_number_date"),
        ("110105194912310021", "id_number_checksum"),
    ],
)
def test_bad_id_numbers_name_the_rule_they_break(raw, code):
    with pytest.raises(ValidationError) as error:
        normalize_id_number(raw)
    assert error.value.code == code


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_exactly_one_check_character_fits_any_seventeen_digits(body):
    fitting = [ch for ch in "0123456789X" if id_number_checksum_ok(body + ch)]
    assert len(fitting) == 1


def test_masks_keep_only_the_ends():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number(VALID_ID) == "110***********002X"
    assert mask_phone(None) == mask_id_number("") == ""
