"""Signed checkpoint codes: made with a key per estate, read forgivingly, refused when forged or foreign."""

import pytest
from django.test import override_settings

from wuye.inspections import codes


def test_a_label_code_reads_back_and_verifies_for_its_estate():
    uid = codes.new_uid()
    read = codes.parse(codes.label_code(7, uid))
    assert read is not None and read.uid == uid
    assert codes.verify(7, read)


def test_the_qr_payload_carries_the_same_code_with_a_prefix():
    uid = codes.new_uid()
    payload = codes.payload(7, uid)
    assert payload.startswith("WYP1:")
    assert codes.parse(payload) == codes.parse(codes.label_code(7, uid))


def test_typing_is_forgiving_about_case_spaces_dashes_and_look_alike_letters():
    uid = "0123456789"
    printed = codes.label_code(3, uid)
    typed = printed.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    read = codes.parse(typed)
    assert read is not None and codes.verify(3, read)


def test_a_code_of_one_estate_does_not_verify_in_another():
    uid = codes.new_uid()
    read = codes.parse(codes.label_code(1, uid))
    assert codes.verify(1, read)
    assert not codes.verify(2, read)


@pytest.mark.parametrize(
    "text",
    ["", "hello", "WYP1:", "ABCDE-FGHJK-MNPQR", "ABCDE-FGHJK-MNPQR-STVWXY", "UUUUU-UUUUU-UUUUU-UUUUU", None, 12345],
)
def test_malformed_codes_are_not_read(text):
    assert codes.parse(text) is None


def test_a_typed_in_forged_mac_is_refused():
    uid = codes.new_uid()
    genuine = codes.parse(codes.label_code(5, uid))
    forged_mac = ("0" if genuine.mac[0] != "0" else "1") + genuine.mac[1:]
    assert not codes.verify(5, codes.ReadCode(uid=uid, mac=forged_mac))


def test_labels_stay_valid_while_the_old_secret_is_a_fallback():
    uid = codes.new_uid()
    with override_settings(SECRET_KEY="old-secret-" + "x" * 40):
        printed = codes.label_code(9, uid)
    read = codes.parse(printed)
    with override_settings(SECRET_KEY="new-secret-" + "y" * 40, SECRET_KEY_FALLBACKS=[]):
        assert not codes.verify(9, read)
    with override_settings(SECRET_KEY="new-secret-" + "y" * 40, SECRET_KEY_FALLBACKS=["old-secret-" + "x" * 40]):
        assert codes.verify(9, read)


def test_uids_are_random_and_in_the_alphabet():
    uids = {codes.new_uid() for _ in range(200)}
    assert len(uids) == 200
    assert all(len(uid) == codes.UID_LENGTH and set(uid) <= set(codes.ALPHABET) for uid in uids)
