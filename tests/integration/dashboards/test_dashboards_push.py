"""``covenant dashboards push`` against a stub Grafana HTTP API started here (no Grafana
server can run on this machine): the folder made once, every dashboard posted with
overwrite and the folder's UID, the token sent, a refused token reported."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from covenant.cli import app
from dashboards.errors import DashboardError
from dashboards.push import push

TOKEN = "glsa_test"


@dataclass
class StubGrafana:
    url: str
    folders: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    refuse: bool = False


def _handler(stub: StubGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length", 0))
            return json.loads(self.rfile.read(length)) if length else None

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            stub.requests.append(("GET", self.path, None))
            if stub.refuse or self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"message": "Unauthorized"})
            elif self.path.removeprefix("/api/folders/") in stub.folders:
                self._answer(200, {"uid": self.path.rsplit("/", 1)[1]})
            else:
                self._answer(404, {"message": "folder not found"})

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            stub.requests.append(("POST", self.path, body))
            if self.path == "/api/folders":
                stub.folders.add(body["uid"])
                self._answer(200, {"uid": body["uid"], "title": body["title"]})
            else:
                uid = body["dashboard"]["uid"]
                self._answer(200, {"status": "success", "uid": uid, "version": 3,
                                   "url": f"/d/{uid}/x"})

        def log_message(self, *args: object) -> None:
            return

    return Handler


@pytest.fixture()
def grafana() -> Iterator[StubGrafana]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    stub = StubGrafana(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()
    thread.join()


def test_push_makes_the_folder_then_overwrites_each_dashboard(grafana: StubGrafana) -> None:
    dashboards: list[dict[str, Any]] = [{"uid": "a", "title": "A", "id": 7},
                                        {"uid": "b", "title": "B"}]
    done = push(dashboards, grafana.url, TOKEN)
    assert [(p.uid, p.version, p.url) for p in done] == [("a", 3, "/d/a/x"), ("b", 3, "/d/b/x")]
    methods = [(m, path) for m, path, _ in grafana.requests]
    assert methods == [("GET", "/api/folders/covenant"), ("POST", "/api/folders"),
                       ("POST", "/api/dashboards/db"), ("POST", "/api/dashboards/db")]
    posted = [body for _, path, body in grafana.requests if path == "/api/dashboards/db"]
    assert all(b["overwrite"] is True and b["folderUid"] == "covenant" for b in posted)
    assert posted[0]["dashboard"] == {"uid": "a", "title": "A", "id": None}
    push(dashboards[:1], grafana.url, TOKEN)  # the folder now exists: not made again
    assert [path for _, path, _ in grafana.requests].count("/api/folders") == 1


def test_a_refused_token_is_named(grafana: StubGrafana) -> None:
    with pytest.raises(DashboardError, match=r"Grafana refused read folder 'covenant' \(401\): "
                                             r"pass a service account token"):
        push([{"uid": "a", "title": "A"}], grafana.url, "wrong")


def test_an_absent_grafana_is_named() -> None:
    with pytest.raises(DashboardError, match="did not answer .*check --grafana-url"):
        push([{"uid": "a", "title": "A"}], "http://127.0.0.1:9", TOKEN)


def test_the_command_pushes_every_generated_dashboard(grafana: StubGrafana) -> None:
    result = CliRunner().invoke(app, ["dashboards", "push", "--grafana-url", grafana.url,
                                      "--token", TOKEN])
    assert result.exit_code == 0, result.output
    posted = [body["dashboard"]["uid"] for _, path, body in grafana.requests
              if path == "/api/dashboards/db"]
    assert len(posted) == 10 and "covenant-overview" in posted
    assert "covenant-region-syd: version 3 /d/covenant-region-syd/x" in result.output
