"""What a new user hit with a workbook file, reproduced as they met it: real files, real
permissions, a read-only disk, the CLI. Each test asserts the message they read."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import openpyxl
import pytest

from sheetsync.backends.xlsx import XlsxBackend
from sheetsync.cli import main
from sheetsync.core.model import CellError, ChangeSet, Paint
from sheetsync.errors import BackendError
from sheetsync.i18n import load_catalogue

NOW = "2026-11-22T20:00:00+08:00"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
pytestmark = pytest.mark.usefixtures("chinese")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def a_workbook(path: Path) -> Path:
    assert main(["init", "--workbook", str(path)]) == 0
    return path


# ---------------------------------------------------------------------------------------------
# 1. init on a read-only disk


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    """A folder on a read-only file system: a read-only bind mount of a fresh folder (root
    ignores permission bits, but not a read-only mount)."""
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / "readme.txt").write_text("photos\n")
    wb = openpyxl.Workbook()
    wb.active.title = "Stock"
    wb.active.append(["SKU", "Stock"])
    wb.active.append(["A1", 3])
    wb.save(folder / "shop.xlsx")
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here (needs root and CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remount.stderr.strip()}")
        with pytest.raises(OSError):
            (folder / "probe").write_text("x")
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_init_on_a_read_only_disk_says_so_instead_of_a_clean_up_error(
    here: Path, read_only_mount: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = read_only_mount / "new.xlsx"

    code, out, err = cli(capsys, "init", "--workbook", str(target))

    assert code == 4
    assert "磁盘是只读的" in err and str(read_only_mount) in err and "原文件没有改动" in err
    assert "Traceback" not in err and "OSError" not in err and "Errno" not in err
    assert sorted(p.name for p in read_only_mount.iterdir()) == ["readme.txt", "shop.xlsx"]


def test_a_workbook_on_a_read_only_disk_is_called_that_not_a_read_only_file(read_only_mount: Path) -> None:
    shop = read_only_mount / "shop.xlsx"
    before = shop.read_bytes()
    backend = XlsxBackend(shop)

    with pytest.raises(BackendError) as caught:
        backend.apply(ChangeSet(paints=[Paint("Stock", 2, 2, "A1", "x")]), backend.read())

    assert "磁盘是只读的" in str(caught.value) and "只读文件" not in str(caught.value)
    assert shop.read_bytes() == before


def test_the_read_only_disk_message_in_english(read_only_mount: Path) -> None:
    with pytest.raises(BackendError) as caught:
        XlsxBackend(read_only_mount / "new.xlsx").init_layout(_one_tab())
    text = caught.value.render(load_catalogue("en"))
    assert "read-only" in text and str(read_only_mount) in text and not CJK.search(text)


def _one_tab() -> list:
    from sheetsync.core.model import ColumnLayout, TabLayout

    return [TabLayout("Stock", (ColumnLayout("SKU"),))]


def test_init_in_a_folder_this_user_may_not_write(capsys: pytest.CaptureFixture[str]) -> None:
    """The same as a person who is not root: run the CLI as 'nobody' in a folder owned by root."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run the CLI as an unprivileged user")
    folder = Path(tempfile.mkdtemp(prefix="sheetsync-shared-"))
    try:
        folder.chmod(0o755)  # others may enter and read, not write
        repo = Path(__file__).resolve().parent.parent
        run = subprocess.run(
            [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-m", "sheetsync.cli",
             "init", "--workbook", str(folder / "shop.xlsx")],
            capture_output=True, text=True, cwd=folder,
            env={**os.environ, "PYTHONPATH": str(repo), "HOME": str(folder)},
        )
        if "Permission denied" in run.stderr and "sheetsync" not in run.stderr:
            pytest.skip(f"'nobody' cannot run this Python: {run.stderr.strip()}")
        assert run.returncode == 4, run.stderr
        assert "没有写入文件夹" in run.stderr and str(folder) in run.stderr
        assert "Traceback" not in run.stderr
        assert list(folder.iterdir()) == []
    finally:
        shutil.rmtree(folder)


# ---------------------------------------------------------------------------------------------
# 2. a read-only workbook file


def test_a_read_only_workbook_is_never_replaced(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shop = a_workbook(here / "shop.xlsx")
    shop.chmod(0o444)
    before = shop.read_bytes()

    code, out, err = cli(capsys, "run", "--workbook", str(shop), "--now", NOW, "--no-send")

    assert code == 4
    assert "只读文件" in err and "什么都没有写入" in err and "chmod u+w" in err
    assert shop.read_bytes() == before and (shop.stat().st_mode & 0o777) == 0o444
    assert not (here / "shop.xlsx.bak").exists()

    shop.chmod(0o644)  # once writable, the same run writes
    code, out, err = cli(capsys, "run", "--workbook", str(shop), "--now", NOW, "--no-send")
    assert code == 0, err
    assert shop.read_bytes() != before


def test_init_does_not_add_tabs_to_a_read_only_workbook(here: Path) -> None:
    shop = here / "shop.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.save(shop)
    shop.chmod(0o444)
    before = shop.read_bytes()

    with pytest.raises(BackendError) as caught:
        XlsxBackend(shop).init_layout(_one_tab())

    assert "只读文件" in str(caught.value)
    en = caught.value.render(load_catalogue("en"))
    assert "read-only" in en and not CJK.search(en)
    assert shop.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# 4. empty, cut-off and damaged files


def test_a_zero_byte_file_is_called_empty(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "shop.xlsx").write_bytes(b"")

    code, out, err = cli(capsys, "check", "--workbook", "shop.xlsx", "--now", NOW)

    assert code == 4
    assert "空文件 (0 字节)" in err and "重新复制" in err and "sheetsync init --workbook" in err
    assert ".csv" not in err and ".xls " not in err and ".bak" not in err and "修复" not in err


def test_init_turns_a_zero_byte_file_into_a_new_workbook(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "shop.xlsx").write_bytes(b"")  # e.g. made with "New > Excel workbook" by a tool that writes nothing

    code, out, err = cli(capsys, "init", "--workbook", "shop.xlsx")

    assert code == 0, err
    assert "库存" in openpyxl.load_workbook(here / "shop.xlsx").sheetnames
    assert not (here / "shop.xlsx.bak").exists()  # nothing worth keeping
    code, out, err = cli(capsys, "check", "--workbook", "shop.xlsx", "--now", NOW)
    assert code in (0, 1), err


def cut_off(path: Path) -> bytes:
    """The first part of the file, as an interrupted copy or sync leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return data


def test_a_cut_off_file_is_called_cut_off_with_no_made_up_backup(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = a_workbook(here / "shop.xlsx")
    cut_off(shop)

    code, out, err = cli(capsys, "check", "--workbook", str(shop), "--now", NOW)

    assert code == 4
    assert "不完整" in err and "中断" in err and "重新复制" in err
    assert ".csv" not in err and "改了扩展名" not in err
    assert ".bak" not in err  # there is none


def test_a_cut_off_file_names_the_backup_that_exists(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shop = a_workbook(here / "shop.xlsx")
    assert cli(capsys, "run", "--workbook", str(shop), "--now", NOW, "--no-send")[0] == 0  # keeps a backup
    (backup,) = (here / "shop.xlsx.backups").glob("shop *.xlsx")
    cut_off(shop)

    code, out, err = cli(capsys, "check", "--workbook", str(shop), "--now", NOW)

    assert code == 4
    assert "不完整" in err and str(backup) in err


def test_a_zip_that_is_no_workbook_is_called_that(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with zipfile.ZipFile(here / "shop.xlsx", "w") as zf:  # a Word document renamed to .xlsx
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")

    code, out, err = cli(capsys, "check", "--workbook", "shop.xlsx", "--now", NOW)

    assert code == 4
    assert "压缩包" in err and ".docx" in err and "不完整" not in err


def test_a_damaged_package_offers_only_an_existing_backup(here: Path) -> None:
    shop = here / "shop.xlsx"
    with zipfile.ZipFile(shop, "w") as zf:  # a zip, but its workbook part is garbage
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "not xml at all")

    with pytest.raises(BackendError) as caught:
        XlsxBackend(shop).read()
    assert "已损坏" in str(caught.value) and ".bak" not in str(caught.value)

    (here / "shop.xlsx.bak").write_bytes(b"PK\x03\x04 an older version")
    with pytest.raises(BackendError) as caught:
        XlsxBackend(shop).read()
    assert str(here / "shop.xlsx.bak") in str(caught.value)
    en = caught.value.render(load_catalogue("en"))
    assert "damaged" in en and "shop.xlsx.bak" in en and not CJK.search(en)


@pytest.mark.parametrize("content", [b"", "cut"], ids=["empty", "cut-off"])
def test_unreadable_files_in_english(tmp_path: Path, content: bytes | str) -> None:
    shop = tmp_path / "shop.xlsx"
    if content == "cut":
        wb = openpyxl.Workbook()
        wb.save(shop)
        cut_off(shop)
    else:
        shop.write_bytes(content)  # type: ignore[arg-type]
    with pytest.raises(BackendError) as caught:
        XlsxBackend(shop).read()
    text = caught.value.render(load_catalogue("en"))
    assert ("empty file" in text if content == b"" else "incomplete" in text) and not CJK.search(text)
    assert ".csv" not in text


# ---------------------------------------------------------------------------------------------
# 12. a formula cell showing #DIV/0!, as Excel writes it

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
EXCEL_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        '<sheets><sheet name="Stock" sheetId="1" r:id="rId1"/></sheets><calcPr calcId="191029"/></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/sharedStrings.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<sst xmlns="{MAIN_NS}" count="5" uniqueCount="5">'
        "<si><t>SKU</t></si><si><t>Margin</t></si><si><t>Stock</t></si><si><t>Supplier</t></si><si><t>A1</t></si></sst>"
    ),
    # Excel 365's own shape: x14ac spans, r/t attributes, error results typed t="e"
    "xl/worksheets/sheet1.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" '
        'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
        '<dimension ref="A1:D2"/><sheetData>'
        '<row r="1" spans="1:4" x14ac:dyDescent="0.25"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>'
        '<row r="2" spans="1:4" x14ac:dyDescent="0.25"><c r="A2" t="s"><v>4</v></c>'
        '<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="C2"><f>2+3</f><v>5</v></c>'
        '<c r="D2" t="e"><v>#N/A</v></c></row>'
        '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    ),
}


@pytest.fixture
def excel_file(tmp_path: Path) -> Path:
    path = tmp_path / "margins.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, xml in EXCEL_PARTS.items():
            zf.writestr(name, xml)
    return path


def test_a_formula_showing_an_error_reads_as_that_error(excel_file: Path) -> None:
    tab = XlsxBackend(excel_file).read().tab("Stock")
    assert tab.rows == [["SKU", "Margin", "Stock", "Supplier"], ["A1", CellError("#DIV/0!"), 5, CellError("#N/A")]]
    assert str(tab.cell(2, 2)) == "#DIV/0!"


def test_a_formula_error_survives_a_save(excel_file: Path) -> None:
    backend = XlsxBackend(excel_file)
    result = backend.apply(ChangeSet(paints=[Paint("Stock", 2, 1, "A1", "check the SKU")]), backend.read())
    assert result.written == 1

    with zipfile.ZipFile(excel_file) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<c r="B2"[^>]* t="e"><f>1/0</f><v>#DIV/0!</v></c>', sheet), sheet
    assert XlsxBackend(excel_file).read().tab("Stock").rows[1] == ["A1", CellError("#DIV/0!"), 5, CellError("#N/A")]
    cached = openpyxl.load_workbook(excel_file, data_only=True)["Stock"]  # what another reader sees
    assert (cached["B2"].value, cached["C2"].value, cached["D2"].value) == ("#DIV/0!", 5, "#N/A")
    assert openpyxl.load_workbook(excel_file)["Stock"]["B2"].value == "=1/0"


# ---------------------------------------------------------------------------------------------
# The same, for a shop on the English template


def test_with_the_english_template_the_refusals_are_english(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "init", "--template", "en", "--workbook", "shop.xlsx")[0] == 0
    shop = here / "shop.xlsx"
    shop.chmod(0o444)

    code, out, err = cli(capsys, "run", "--template", "en", "--workbook", "shop.xlsx", "--now", NOW, "--no-send")
    assert code == 4
    assert "read-only file" in err and "nothing was written" in err and not CJK.search(err)

    shop.chmod(0o644)
    cut_off(shop)
    code, out, err = cli(capsys, "check", "--template", "en", "--workbook", "shop.xlsx", "--now", NOW)
    assert code == 4
    assert "incomplete .xlsx file" in err and "interrupted" in err and not CJK.search(err)


def test_a_full_disk_leaves_the_workbook_and_nothing_else(tmp_path: Path) -> None:
    """Room for the workbook and the new version, not for the backup as well."""
    folder = tmp_path / "small"
    folder.mkdir()
    source = a_workbook_bytes()
    size_kb = (2 * len(source)) // 1024 + 12
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here (needs root and CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        shop = folder / "shop.xlsx"
        shop.write_bytes(source)
        backend = XlsxBackend(shop)
        with pytest.raises(BackendError) as caught:
            backend.apply(ChangeSet(paints=[Paint("Stock", 2, 2, "A1", "x" * 2000)]), backend.read())
        assert "磁盘" in str(caught.value) and "已满" in str(caught.value) and "原文件没有改动" in str(caught.value)
        assert shop.read_bytes() == source
        assert sorted(p.name for p in folder.iterdir()) == ["shop.xlsx"]
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def a_workbook_bytes() -> bytes:
    """A workbook whose saved form does not compress much (random-looking text)."""
    import hashlib
    import io

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Stock"
    ws.append(["SKU", "Stock", "Notes"])
    for i in range(1, 400):
        ws.append([f"A{i}", i, hashlib.sha256(str(i).encode()).hexdigest() * 2])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
