"""A loopback HTTP server playing WeCom, DingTalk and Feishu group bots: it checks signatures the
way DingTalk and Feishu document them, and answers like they do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sheetsync.delivery import DeliveryConfig

NOW = datetime(2026, 11, 22, 14, 0, 5, tzinfo=timezone.utc)
TOKENS = {"wecom": "wecomKEY0123456789abcdef", "dingtalk": "dingACCESS0123456789abcdef",
          "feishu": "feishuHOOK-0123-4567-89ab"}
SECRETS = {"dingtalk": "SECdingtalk0123456789secret", "feishu": "feishuSIGNsecret0123456789"}
ENV = {"DINGTALK_SECRET": SECRETS["dingtalk"], "FEISHU_SECRET": SECRETS["feishu"]}


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """DingTalk custom robot docs: HmacSHA256 over "timestamp\\nsecret" keyed with the secret, Base64."""
    string_to_sign = f"{timestamp}\n{secret}"
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_expected_sign(secret: str, timestamp: str) -> str:
    """Feishu custom bot docs: "timestamp\\nsecret" is the HmacSHA256 key, the message is empty, Base64."""
    string_to_sign = f"{timestamp}\n{secret}"
    return base64.b64encode(hmac.new(string_to_sign.encode("utf-8"), digestmod=hashlib.sha256).digest()).decode()


class BotServer:
    """Plays WeCom, DingTalk and Feishu on one loopback port. ``fail[channel]`` is a list of
    HTTP statuses to answer before answering normally."""

    def __init__(self, now: datetime = NOW):
        self.now = now
        self.requests: list[dict] = []
        self.fail: dict[str, list[int]] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                channel = server.channel_of(self.path)
                server.requests.append({"channel": channel, "path": self.path, "body": body,
                                        "content_type": self.headers["Content-Type"]})
                queued = server.fail.get(channel) or []
                if queued:
                    self.reply(queued.pop(0), {"error": "busy"})
                else:
                    self.reply(200, server.answer(channel, self.path, body))

            def reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, channel: str) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return {"wecom": f"{base}/cgi-bin/webhook/send?key={TOKENS['wecom']}",
                "dingtalk": f"{base}/robot/send?access_token={TOKENS['dingtalk']}",
                "feishu": f"{base}/open-apis/bot/v2/hook/{TOKENS['feishu']}"}[channel]

    @staticmethod
    def channel_of(path: str) -> str:
        return "wecom" if "/cgi-bin/" in path else ("dingtalk" if "/robot/" in path else "feishu")

    def answer(self, channel: str, path: str, body: dict) -> dict:
        """The platform's reply, including its verdict on the signature."""
        if channel == "dingtalk":
            query = parse_qs(urlsplit(path).query)
            ts, sign = query["timestamp"][0], query["sign"][0]
            ok = (sign == dingtalk_expected_sign(SECRETS["dingtalk"], ts)
                  and abs(int(ts) - self.now.timestamp() * 1000) < 3600_000)
            return {"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 310000, "errmsg": "sign not match"}
        if channel == "feishu":
            ts = body["timestamp"]
            ok = (body["sign"] == feishu_expected_sign(SECRETS["feishu"], ts)
                  and abs(int(ts) - self.now.timestamp()) < 3600)
            return {"code": 0, "msg": "success"} if ok else {"code": 19021, "msg": "sign match fail"}
        return {"errcode": 0, "errmsg": "ok"}

    def texts(self) -> list[str]:
        """The markdown each request carried."""
        out = []
        for r in self.requests:
            b = r["body"]
            out.append(b.get("markdown", {}).get("content") or b.get("markdown", {}).get("text")
                       or b.get("card", {}).get("elements", [{}])[0].get("content"))
        return out

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def bot_config(server: BotServer, *channels: str, url=None) -> DeliveryConfig:
    table = {}
    for channel in channels:
        table[channel] = {"webhook": (url or server.url)(channel)}
        if channel in SECRETS:
            table[channel]["secret_env"] = f"{channel.upper()}_SECRET"
    return DeliveryConfig.from_mapping(table, ENV)
