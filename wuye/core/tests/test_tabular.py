"""Reading CSV and .xlsx tables: encodings Chinese Excel produces, clean cell text, row numbers, refusals."""

import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from wuye.core.errors import ValidationFailed
from wuye.core.tabular import table_read

LIMITS = {"max_rows": 1000, "max_bytes": 1024 * 1024}


def read(filename: str, content: bytes, **limits):
    return table_read(filename=filename, content=content, **{**LIMITS, **limits})


def xlsx_bytes(*rows, extra_sheet_first: bool = False) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    if extra_sheet_first:
        # The ledger is the first sheet even when the workbook was saved with another sheet active.
        other = workbook.create_sheet("说明")
        other.append(["这不是台账"])
        workbook.active = 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def refusal_code(excinfo) -> str:
    (error,) = excinfo.value.errors
    assert error.field == "file" and error.row is None
    return error.code


def test_utf8_csv_with_byte_order_mark_reads_the_first_header_without_the_mark():
    table = read("rooms.csv", "楼栋,单元,房号\n1,1,101\n".encode("utf-8-sig"))
    assert table.header == ["楼栋", "单元", "房号"]
    assert [(row.number, row.cells) for row in table.rows] == [(2, ["1", "1", "101"])]


def test_utf8_csv_without_byte_order_mark_is_read():
    table = read("rooms.csv", "姓名,手机号\n王芳,13812345678\n".encode())
    assert table.header == ["姓名", "手机号"]
    assert table.rows[0].cells == ["王芳", "13812345678"]


def test_gbk_csv_saved_by_chinese_excel_is_read():
    content = "楼栋,单元,房号,备注\n3栋,2单元,1502,南向\n".encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    table = read("房屋台账.csv", content)
    assert table.header == ["楼栋", "单元", "房号", "备注"]
    assert table.rows[0].cells == ["3栋", "2单元", "1502", "南向"]


def test_utf16_tab_separated_unicode_text_export_is_read():
    table = read("ledger.txt", "楼栋\t单元\n1\t2\n".encode("utf-16"))
    assert table.header == ["楼栋", "单元"]
    assert table.rows[0].cells == ["1", "2"]


def test_blank_rows_are_skipped_but_row_numbers_match_the_spreadsheet():
    content = b"\n a , b \n\n1,2\n , \n3,4\n"
    table = read("t.csv", content)
    assert table.header_row == 2
    assert table.header == ["a", "b"]
    assert [(row.number, row.cells) for row in table.rows] == [(4, ["1", "2"]), (6, ["3", "4"])]


def test_quoted_cell_with_comma_and_line_break_is_one_cell_on_one_row():
    table = read("t.csv", b'name,note\n"Wang","a, b\nc"\nLi,x\n')
    assert [(row.number, row.cells) for row in table.rows] == [(2, ["Wang", "a, b\nc"]), (3, ["Li", "x"])]


def test_short_rows_are_padded_to_the_header():
    table = read("t.csv", b"a,b,c\n1\n")
    assert table.rows[0].cells == ["1", "", ""]
    assert table.rows[0].cell(5) == ""


def test_xlsx_numbers_dates_and_text_come_back_as_clean_text():
    content = xlsx_bytes(
        ["房号", "楼层", "面积", "手机号", "入住日期", "姓名"],
        [101.0, 15, 89.5, 13812345678, dt.datetime(2024, 5, 1), "  王芳 "],
        [None, None, None, None, None, None],
        ["1502", -1, 0.1 + 0.2, 1e16, dt.date(2023, 12, 31), "李雷"],
    )
    table = read("rooms.xlsx", content)
    assert table.header == ["房号", "楼层", "面积", "手机号", "入住日期", "姓名"]
    assert [(row.number, row.cells) for row in table.rows] == [
        (2, ["101", "15", "89.5", "13812345678", "2024-05-01", "王芳"]),
        (4, ["1502", "-1", "0.3", "10000000000000000", "2023-12-31", "李雷"]),
    ]


def test_xlsx_reads_the_first_sheet_whichever_is_active():
    table = read("rooms.xlsx", xlsx_bytes(["楼栋"], ["1"], extra_sheet_first=True))
    assert table.header == ["楼栋"]


def test_xlsx_is_recognised_by_content_when_the_name_has_no_suffix():
    assert read("upload", xlsx_bytes(["楼栋"], ["2"])).rows[0].cells == ["2"]


@pytest.mark.parametrize("content", [b"", b"   \r\n\n", "\ufeff".encode(), b",,,\n,,\n"])
def test_empty_csv_is_refused(content):
    with pytest.raises(ValidationFailed) as excinfo:
        read("empty.csv", content)
    assert refusal_code(excinfo) == "empty_file"


def test_xlsx_with_an_empty_first_sheet_is_refused_as_empty():
    with pytest.raises(ValidationFailed) as excinfo:
        read("empty.xlsx", xlsx_bytes())
    assert refusal_code(excinfo) == "empty_file"


def test_file_over_the_byte_limit_is_refused_before_reading():
    with pytest.raises(ValidationFailed) as excinfo:
        read("big.csv", b"a\n" + b"1\n" * 600, max_bytes=1000)
    assert refusal_code(excinfo) == "file_too_large"
    assert "1000 B" in excinfo.value.errors[0].message


def test_rows_up_to_the_limit_are_read_and_one_more_is_refused():
    content = b"a\n" + b"1\n" * 5
    assert len(read("t.csv", content, max_rows=5).rows) == 5
    with pytest.raises(ValidationFailed) as excinfo:
        read("t.csv", content, max_rows=4)
    assert refusal_code(excinfo) == "too_many_rows"


def test_xlsx_over_the_row_limit_is_refused():
    content = xlsx_bytes(["a"], *[[n] for n in range(10)])
    with pytest.raises(ValidationFailed) as excinfo:
        read("t.xlsx", content, max_rows=9)
    assert refusal_code(excinfo) == "too_many_rows"


def test_xlsx_that_would_expand_enormously_is_refused():
    # Distinct, highly repetitive cells: a few KB zipped, over 400 KB once unpacked (more than 40 times the file).
    content = xlsx_bytes(["a"], *[[f"{n:04d}" + "x" * 2000] for n in range(200)])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sum(member.file_size for member in archive.infolist()) > 40 * (len(content) + 1)
    with pytest.raises(ValidationFailed) as excinfo:
        read("bomb.xlsx", content, max_bytes=len(content) + 1, max_rows=10_000)
    assert refusal_code(excinfo) == "file_too_large"


def test_xlsx_that_expands_like_an_ordinary_workbook_is_read():
    content = xlsx_bytes(["a"], *[[f"{n:04d}" + "x" * 2000] for n in range(200)])
    assert len(read("big.xlsx", content, max_bytes=len(content) * 2, max_rows=10_000).rows) == 200


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
        ("locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
        ("ledger.pdf", b"%PDF-1.4 ..."),
    ],
)
def test_formats_other_than_csv_and_xlsx_are_refused(filename, content):
    with pytest.raises(ValidationFailed) as excinfo:
        read(filename, content)
    assert refusal_code(excinfo) == "unsupported_format"


def test_damaged_xlsx_is_refused_as_unreadable():
    with pytest.raises(ValidationFailed) as excinfo:
        read("broken.xlsx", xlsx_bytes(["a"], ["1"])[:300])
    assert refusal_code(excinfo) == "unreadable_xlsx"


def test_text_in_no_supported_encoding_is_refused():
    with pytest.raises(ValidationFailed) as excinfo:
        read("t.csv", b"a,b\n\xff\xff\xff\n")
    assert refusal_code(excinfo) == "unreadable_text"
