"""`covenant chaos proxy serve` as a real process: API up, --config applied, proxies working."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.waiting import eventually


async def test_serve_with_config(tmp_path: Path, echo_port: int) -> None:
    config = tmp_path / "proxies.json"
    proxies = [{"name": "echo", "upstream": f"127.0.0.1:{echo_port}", "listen": "127.0.0.1:0"}]
    config.write_text(json.dumps(proxies))
    command = [sys.executable, "-c", "from covenant.cli import main; main()"]
    command += ["chaos", "proxy", "serve"]
    process = await asyncio.create_subprocess_exec(
        *command, "--port", "0", "--config", str(config), stderr=subprocess.PIPE
    )
    try:
        assert process.stderr is not None
        line = ""
        while not line.startswith("Toxiproxy API on "):  # after any log lines
            line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
            assert line, "the server exited before announcing its address"
        assert line.startswith("Toxiproxy API on http://127.0.0.1:"), line
        url = line.split(" on ")[1].strip()
        async with httpx.AsyncClient(base_url=url, timeout=10) as api:
            listed: dict[str, dict[str, str]] = {}

            async def configured() -> bool:  # the config is applied just after the API starts
                listed.update((await api.get("/proxies")).json())
                return bool(listed)

            await eventually(configured, "the --config proxies", 5, interval=0.05)
            port = int(listed["echo"]["listen"].split(":")[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"via the cli")
        assert await asyncio.wait_for(reader.readexactly(11), 5) == b"via the cli"
        writer.close()
    finally:
        process.terminate()
        await process.wait()
