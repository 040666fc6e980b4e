"""What a new user hit on the command line, each reproduced the way they met it: the real CLI
(``sheetsync.cli.main`` or a child process), real files, real permissions, real pipes."""

from __future__ import annotations

import json
import os
import ctypes
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pytest

from sheetsync.cli import build_parser, main
from sheetsync.errors import BackendError, ConfigError, DeliveryError, UnsafeWorkbookError, WorkbookBusyError
from sheetsync.i18n import load_catalogue

NOW = "2026-11-22T20:00:00+08:00"
REPO = Path(__file__).resolve().parents[1]
CLI = "import sys; from sheetsync.cli import main; sys.exit(main(sys.argv[1:]))"
CJK = re.compile("[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef\u3010\u3011\u300c\u300d\u3001\uff0c\u3002\uff1a]")


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1", **extra}


@pytest.fixture
def demo(tmp_path, capsys):
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--now", NOW]) == 0
    capsys.readouterr()
    return tmp_path / "demo" / "demo.xlsx"


@pytest.fixture
def en_demo(tmp_path, capsys):
    assert main(["demo", "--template", "en", "--dir", str(tmp_path / "demo"), "--now", NOW]) == 0
    out = capsys.readouterr().out
    return tmp_path / "demo" / "demo.xlsx", out


def edit(path: Path, tab: str, cell: str, value) -> None:
    wb = openpyxl.load_workbook(path)
    wb[tab][cell] = value
    wb.save(path)


# -- one language end to end --------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["check", "--template", "en", "--help"],
    ["run", "--template", "en", "--help"],
    ["demo", "--template", "en", "--help"],
    ["schedule", "--template", "en", "--help"],
])
def test_english_help_has_no_chinese(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sheetsync ") and "options:" in out and "show this help and exit" in out
    assert not CJK.search(out), CJK.findall(out)


def test_template_in_the_config_file_makes_even_the_top_level_help_english(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sheetsync.toml").write_text('template = "en"\n', encoding="utf-8")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Exit codes: 0 ok, 1 check found problems" in out and not CJK.search(out)


@pytest.mark.parametrize("argv,english,chinese", [
    (["check", "--bogus"], "error: unrecognized arguments: --bogus", "错误: 不认识的参数: --bogus"),
    (["check", "--workbook", "a.xlsx", "--spreadsheet", "b"],
     "error: argument --spreadsheet: not allowed with argument --workbook",
     "错误: 参数 --spreadsheet: 不能和参数 --workbook 同时使用"),
    (["nightly"], "error: argument COMMAND: invalid choice: 'nightly'", "错误: 参数 命令: 无效的选择: 'nightly'"),
])
def test_argument_errors_speak_the_template_language(argv, english, chinese, capsys):
    assert main([*argv, "--template", "en"]) == 2
    err = capsys.readouterr().err
    assert "usage: sheetsync" in err and english in err and not CJK.search(err), err
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "用法: sheetsync" in err and chinese in err, err


def test_english_workbook_english_output_everywhere(en_demo, tmp_path, capsys, monkeypatch):
    path, demo_out = en_demo
    assert "Demo workbook:" in demo_out and "Weekly summary 11.16-11.22:" in demo_out
    edit(path, "Customer service log", "I2", "no")
    runs = [
        (["check", "--workbook", str(path), "--now", NOW, "--template", "en"], 1),
        (["check", "--workbook", str(path), "--now", NOW, "--template", "en", "--json"], 1),
        (["run", "--workbook", str(path), "--now", NOW, "--template", "en", "--dry-run"], 0),
        (["run", "--workbook", str(path), "--now", NOW, "--template", "en"], 0),
        (["jobs", "--workbook", str(path), "--now", NOW, "--template", "en"], 0),
        (["run", "nightly", "--workbook", str(path), "--template", "en"], 2),
        (["check", "--workbook", str(tmp_path / "nope.xlsx"), "--now", NOW, "--template", "en"], 4),
        (["check", "--now", "next week", "--template", "en", "--workbook", str(path)], 2),
    ]
    monkeypatch.chdir(tmp_path)
    for argv, code in runs:
        assert main(argv) == code, argv
        captured = capsys.readouterr()
        # the prefix of the cell notes themselves is the core's (NOTE_PREFIX), scanned by its own tests
        text = (captured.out + captured.err).replace("【sheetsync】", "")
        assert not CJK.search(text), (argv, CJK.findall(text), text)
    assert main(runs[0][0]) == 1
    out = capsys.readouterr().out
    assert "'Promotions' row " in out and out.strip().endswith("problem(s).")
    assert main(runs[4][0]) == 0
    jobs = capsys.readouterr().out
    assert "weekly-summary   Sunday 20:00" in jobs and "next 2026-11-29 20:00" in jobs


# -- configuration checked before any work --------------------------------------------------------


def test_delivery_typo_leaves_the_workbook_byte_identical(demo, capsys):
    edit(demo, "客服台账", "I2", "否")  # a change a run would write
    before = demo.read_bytes()
    config = demo.parent / "sheetsync.toml"
    config.write_text('workbook = "demo.xlsx"\n\n[delivery]\nsmpt = { host = "smtp.qq.com" }\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--now", NOW]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (f"sheetsync: 配置文件 {config} 第 4 行: 不认识的设置「delivery.smpt」。"
                                    "是不是想写「smtp」? "
                                    "可用的设置: outbox_dir、bot_timeout、smtp、wecom、dingtalk、feishu")
    assert demo.read_bytes() == before


def test_delivery_typo_in_english(en_demo, capsys):
    path, _ = en_demo
    before = path.read_bytes()
    config = path.parent / "sheetsync.toml"
    config.write_text('template = "en"\nworkbook = "demo.xlsx"\n[delivery.smtp]\nhost = "h"\nfrom = "a@b.cn"\n'
                      'prot = 25\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f'sheetsync: {config}, line 6: unknown setting "delivery.smtp.prot". Did you mean "port"? '
                           "Known settings: host, port, security, username, password_env, from, timeout, ca_file")
    assert path.read_bytes() == before


def test_a_missing_secret_stops_the_run_before_the_workbook_is_written(demo, capsys, monkeypatch):
    monkeypatch.delenv("SHOP_SMTP_PASSWORD", raising=False)
    edit(demo, "客服台账", "I2", "否")
    before = demo.read_bytes()
    config = demo.parent / "sheetsync.toml"
    config.write_text('workbook = "demo.xlsx"\n[delivery.smtp]\nhost = "smtp.qq.com"\nfrom = "a@b.cn"\n'
                      'username = "a@b.cn"\npassword_env = "SHOP_SMTP_PASSWORD"\n', encoding="utf-8")
    assert main(["run", "--config", str(config), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert f"配置文件 {config} 第 6 行: 环境变量 SHOP_SMTP_PASSWORD 没有设置" in err
    assert demo.read_bytes() == before
    assert main(["check", "--config", str(config), "--now", NOW]) == 1  # checking needs no password


@pytest.mark.parametrize("text,line,chinese,english", [
    ('workbook = shop.xlsx\n', 1, "文字要用英文双引号括起来, 例如 workbook = \"shop.xlsx\"",
     "Text goes in double quotes"),
    ('backend = "xlsx"\nworkbook = “shop.xlsx”\n', 2, "这一行有中文标点", "full-width punctuation"),
    ('workbook = "C:\\shop\\new.xlsx"\n', 1, "Windows 路径请用单引号", "Write Windows paths in single quotes"),
    ('workbook = "a.xlsx"\nworkbook = "b.xlsx"\n', 2, "每个设置和 [表] 只能出现一次", "may appear only once"),
    ('workbook = "a.xlsx\n', 1, "检查这一行的引号是否成对", "quotes on this line come in pairs"),
])
def test_toml_syntax_errors_name_the_line_and_the_usual_fix(tmp_path, capsys, text, line, chinese, english):
    config = tmp_path / "sheetsync.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sheetsync: 配置文件 {config} 第 {line} 行第 ") and chinese in err, err
    assert main(["check", "--config", str(config), "--template", "en"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sheetsync: {config}, line {line}, column ") and english in err, err
    assert not CJK.search(err) and "(at line" not in err and "Traceback" not in err


def test_workbook_given_as_a_number_is_a_type_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sheetsync.toml").write_text('backend = "xlsx"\nworkbook = 5\n', encoding="utf-8")
    assert main(["check", "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"sheetsync: 配置文件 {tmp_path / 'sheetsync.toml'} 第 2 行: 「workbook」应该是文字 "
                           "(用英文双引号括起来, 如 \"shop.xlsx\"), 现在是 5")
    assert not (tmp_path / "5").exists()


# -- (1) a folder sheetsync cannot write to --------------------------------------------------------


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _without_root_powers() -> None:
    """In the child, before exec: root keeps its uid (the interpreter may live under /root) but
    loses the capabilities that let it ignore file permissions, so a 555 folder is read-only to
    it as to anyone."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _run_as_unprivileged(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI as a user who cannot write ``cwd`` (a real user already cannot; root is
    stripped of its permission-bypassing capabilities)."""
    return subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=child_env(HOME=str(cwd)), preexec_fn=_without_root_powers if os.geteuid() == 0 else None)


@pytest.fixture
def read_only_shop(tmp_path, capsys):
    """A workbook in a folder the (unprivileged) user can read but not write."""
    top = Path(tempfile.mkdtemp(prefix="sheetsync-ro-"))  # pytest's tmp_path is private to root
    os.chmod(top, 0o755)
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--now", NOW]) == 0
    capsys.readouterr()
    shop = top / "shop"
    shop.mkdir()
    shutil.copy(tmp_path / "demo" / "demo.xlsx", shop / "shop.xlsx")
    edit(shop / "shop.xlsx", "客服台账", "I2", "否")
    os.chmod(shop / "shop.xlsx", 0o644)
    os.chmod(shop, 0o555)
    probe = subprocess.run(
        [sys.executable, "-c", "open('probe', 'w')"], cwd=shop, capture_output=True, timeout=60,
        preexec_fn=_without_root_powers if os.geteuid() == 0 else None)
    if probe.returncode == 0:
        os.chmod(shop, 0o755)
        shutil.rmtree(top)
        pytest.skip("cannot make a folder read-only for this process (root with CAP_DAC_OVERRIDE it cannot drop)")
    yield shop
    os.chmod(shop, 0o755)
    shutil.rmtree(top)


def test_run_in_a_folder_it_cannot_write_says_so_and_changes_nothing(read_only_shop):
    before = (read_only_shop / "shop.xlsx").read_bytes()
    done = _run_as_unprivileged(["run", "--workbook", "shop.xlsx", "--now", NOW], read_only_shop)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "PermissionError" not in done.stderr
    assert done.stderr.startswith(f"sheetsync: sheetsync 不能在文件夹 {read_only_shop / '.sheetsync' / 'shop.xlsx'} "
                                  "里保存自己的记录 (定时任务状态、锁、outbox): 没有写权限。工作簿没有改动。")
    assert "没有写权限" in done.stderr and "state_dir" in done.stderr and "工作簿没有改动" in done.stderr
    assert (read_only_shop / "shop.xlsx").read_bytes() == before
    # reading needs no write access
    done = _run_as_unprivileged(["check", "--workbook", "shop.xlsx", "--now", NOW], read_only_shop)
    assert done.returncode == 1 and "[stock.oversell]" in done.stdout and "Traceback" not in done.stderr


def test_the_same_in_english(read_only_shop):
    done = _run_as_unprivileged(["run", "--workbook", "shop.xlsx", "--now", NOW, "--template", "en"], read_only_shop)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "sheetsync cannot keep its records" in done.stderr and "no write permission" in done.stderr
    assert "set state_dir" in done.stderr and not CJK.search(done.stderr)


def test_a_state_dir_on_a_system_folder_is_refused_before_reading(demo, capsys):
    if os.access("/sys", os.W_OK) and not os.path.ismount("/sys"):
        pytest.skip("/sys is writable here")
    config = demo.parent / "sheetsync.toml"
    config.write_text('workbook = "demo.xlsx"\nstate_dir = "/sys/sheetsync"\n', encoding="utf-8")
    before = demo.read_bytes()
    assert main(["run", "--config", str(config), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert "不能在文件夹 /sys/sheetsync 里保存自己的记录" in err and "Traceback" not in err
    assert demo.read_bytes() == before


# -- (3) sheetsync schedule says what it does --------------------------------------------------------


def test_schedule_says_what_it_watches_and_when_each_job_runs_next(demo, capsys):
    assert main(["schedule", "--workbook", str(demo), "--now", "2026-11-22T19:50", "--once"]) == 0
    out = capsys.readouterr().out.splitlines()
    state = demo.parent / ".sheetsync" / "demo.xlsx"
    assert out[0] == f"sheetsync schedule 已启动: 监视 {demo}, 店铺时间 Asia/Shanghai, 记录保存在 {state}"
    assert [line.split()[0] for line in out[1:5]] == ["validate", "reconcile-stock", "weekly-summary", "daily-digest"]
    assert "工作时间每 2 分钟, 其余每 15 分钟" in out[1] and out[1].endswith("下次 2026-11-22 19:52")
    assert "每周日 20:00" in out[3] and out[3].endswith("下次 2026-11-22 20:00")
    assert "每天 22:00" in out[4] and out[4].endswith("下次 2026-11-22 22:00")
    assert out[-1] == "sheetsync schedule 已停止。"


def test_schedule_catches_up_and_logs_in_shop_time(demo, capsys):
    assert main(["schedule", "--workbook", str(demo), "--now", "2026-11-22T19:50", "--once"]) == 0
    capsys.readouterr()
    assert main(["schedule", "-v", "--workbook", str(demo), "--now", "2026-11-22T20:20", "--once"]) == 0
    captured = capsys.readouterr()
    assert re.search(r"^  validate +工作时间每 2 分钟, 其余每 15 分钟 +错过了 2026-11-22 19:52, 现在补跑$", captured.out,
                     re.M), captured.out
    assert re.search(r"^  weekly-summary +每周日 20:00 +错过了 2026-11-22 20:00, 现在补跑$", captured.out, re.M)
    logged = [line for line in captured.err.splitlines() if " INFO sheetsync" in line]
    # the jobs due at that moment run as one: one read, one write
    assert any("运行「validate, reconcile-stock, weekly-summary」" in line for line in logged), captured.err
    assert logged and all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0800 INFO ", line) for line in logged), logged


@pytest.mark.parametrize("content,message", [
    (None, "nope.xlsx"),
    (b"this is not a workbook", "nope.xlsx"),
])
def test_schedule_fails_fast_on_a_workbook_it_cannot_open(tmp_path, content, message):
    path = tmp_path / "nope.xlsx"
    if content is not None:
        path.write_bytes(content)
    done = subprocess.run([sys.executable, "-c", CLI, "schedule", "--workbook", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=child_env())
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("sheetsync: ") and message in done.stderr and "Traceback" not in done.stderr
    assert "已启动" not in done.stdout


# -- (5) | head -------------------------------------------------------------------------------------


def test_check_into_a_closed_pipe_ends_quietly(demo):
    read, write = os.pipe()
    os.close(read)  # `| head` that has already gone
    try:
        done = subprocess.run([sys.executable, "-c", CLI, "check", "--workbook", str(demo), "--now", NOW],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, env=child_env())
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 141


# -- (7) one workbook, one folder of records ----------------------------------------------------------


def test_two_workbooks_in_one_folder_keep_their_own_outbox(demo, capsys):
    folder = demo.parent
    shutil.copy(demo, folder / "a.xlsx")
    shutil.copy(demo, folder / "b.xlsx")
    edit(folder / "b.xlsx", "设置", "B2", "另一家店")
    outs = {}
    for name in ("a.xlsx", "b.xlsx"):
        assert main(["run", "weekly-summary", "--workbook", str(folder / name), "--now", NOW]) == 0
        outs[name] = capsys.readouterr().out
    for name in ("a.xlsx", "b.xlsx"):
        outbox = folder / ".sheetsync" / name / "outbox"
        assert (outbox / "weekly-2026-11-16.eml").exists()
        assert f"消息保存在 {outbox}" in outs[name]
    a = (folder / ".sheetsync" / "a.xlsx" / "outbox" / "weekly-2026-11-16.json").read_text(encoding="utf-8")
    b = (folder / ".sheetsync" / "b.xlsx" / "outbox" / "weekly-2026-11-16.json").read_text(encoding="utf-8")
    assert json.loads(a) != json.loads(b)


def test_a_second_demo_keeps_an_edited_workbook(demo, capsys):
    edit(demo, "客服台账", "B2", "我改过的")
    edited = demo.read_bytes()
    assert main(["demo", "--dir", str(demo.parent), "--now", NOW]) == 2
    err = capsys.readouterr().err
    assert f"{demo} 已经存在, 没有覆盖" in err and "--overwrite" in err
    assert demo.read_bytes() == edited
    assert main(["demo", "--dir", str(demo.parent), "--now", NOW, "--overwrite"]) == 0
    capsys.readouterr()
    assert (demo.parent / "demo.xlsx.old").read_bytes() == edited
    assert openpyxl.load_workbook(demo)["客服台账"]["B2"].value != "我改过的"


# -- (8) a failed send is an exit code, said once ----------------------------------------------------


def test_failed_smtp_send_exits_5_and_says_it_once(demo, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = demo.parent / "sheetsync.toml"
    config.write_text(f'workbook = "demo.xlsx"\n[delivery.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
                      'security = "none"\nfrom = "shop@example.com"\n', encoding="utf-8")
    assert main(["run", "weekly-summary", "--config", str(config), "--now", NOW]) == DeliveryError.exit_code == 5
    captured = capsys.readouterr()
    both = captured.out + captured.err
    # the weekly summary, and the digest and the alerts the demo left unsent: each failure said once, on stderr
    lines = captured.err.splitlines()
    alerts = [line for line in lines if line.startswith("sheetsync: 消息 alert-")]
    assert alerts and len(set(alerts)) == len(alerts)
    assert both.count("weekly-2026-11-16 通过邮件发送失败") == 1 and both.count(f"127.0.0.1:{port}") == len(lines), both
    assert [line.split(" 通过邮件发送失败: ")[0] for line in lines if line not in alerts] == [
        "sheetsync: 消息 daily-2026-11-21", "sheetsync: 消息 weekly-2026-11-16"], lines
    assert all(f"127.0.0.1:{port}" in line and line.endswith("消息留在 outbox 里, 下次运行会重试。") for line in lines)
    assert (demo.parent / ".sheetsync" / "demo.xlsx" / "outbox" / "weekly-2026-11-16.eml").exists()


# -- (9) every command takes the common options --------------------------------------------------------


@pytest.mark.parametrize("command", ["demo", "init", "check", "run", "jobs", "schedule"])
def test_every_command_takes_now_config_template_and_v_after_it(command):
    parser = build_parser(load_catalogue("zh-CN"))
    args = parser.parse_args([command, "--now", NOW, "--config", "x.toml", "--template", "en", "-v", "-v"])
    assert (args.now, args.config, args.template, args.verbose_after) == (NOW, "x.toml", "en", 2)


def test_common_options_also_work_before_the_command(demo, capsys):
    config = demo.parent / "sheetsync.toml"
    config.write_text('workbook = "demo.xlsx"\n', encoding="utf-8")
    assert main(["--template", "en", "check", "--bogus"]) == 2
    assert "error: unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["-v", "--config", str(config), "--now", NOW, "check"]) == 1
    assert "[stock.oversell]" in capsys.readouterr().out


def test_check_v_and_init_now_work_as_typed(tmp_path, capsys):
    path = tmp_path / "shop.xlsx"
    assert main(["init", "--workbook", str(path), "--now", NOW, "-v"]) == 0
    assert main(["check", "--workbook", str(path), "--now", NOW, "-v"]) == 0
    assert "没有发现问题" in capsys.readouterr().out


def test_readme_documents_every_exit_code():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code, meaning in [(0, ""), (1, "problem"), (ConfigError.exit_code, "configuration"),
                          (WorkbookBusyError.exit_code, "busy"), (UnsafeWorkbookError.exit_code, "unsafe"),
                          (BackendError.exit_code, "read"), (DeliveryError.exit_code, "sent"), (141, "pipe")]:
        row = next((line for line in section.splitlines() if line.startswith(f"| {code} ")), None)
        assert row is not None and meaning in row, (code, section)


# -- (13) a time without an offset is shop time --------------------------------------------------------


def test_jobs_with_a_naive_now_is_shop_time(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["jobs", "--now", "2026-11-22T20:00:00"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("validate") and "下次 2026-11-22 20:02" in out[0]  # no workbook: every 2 minutes
    assert "下次 2026-11-29 20:00" in out[2] and "下次 2026-11-22 22:00" in out[3]


def test_records_of_the_old_shared_folder_move_to_the_workbook_folder(demo, capsys):
    """A folder set up by an earlier version: one .sheetsync/outbox and scheduler.json for all."""
    folder = demo.parent
    shutil.copy(demo, folder / "shop.xlsx")
    shared = folder / ".sheetsync"
    (shared / "outbox").mkdir(parents=True)
    (shared / "outbox" / "weekly-2026-11-09.eml").write_text("pending", encoding="utf-8")
    (shared / "scheduler.json").write_text('{"version": 1, "jobs": {}}', encoding="utf-8")
    assert main(["run", "validate", "--workbook", str(folder / "shop.xlsx"), "--now", NOW]) == 0
    err = capsys.readouterr().err
    own = shared / "shop.xlsx"
    assert (own / "outbox" / "weekly-2026-11-09.eml").read_text(encoding="utf-8") == "pending"
    assert (own / "scheduler.json").exists() and not (shared / "outbox").exists()
    assert f"每个工作簿现在有自己的记录文件夹: {shared / 'scheduler.json'}、{shared / 'outbox'} 已移到 {own}。" in err


def test_demo_ignores_a_broken_config_it_does_not_need(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sheetsync.toml").write_text('template = "en"\nworkbook = 5\n', encoding="utf-8")
    assert main(["demo", "--now", NOW]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Demo workbook: sheetsync-demo/demo.xlsx")
    assert not CJK.search(out.replace("【sheetsync】", ""))
