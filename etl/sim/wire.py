"""An answer as the simulator's parts pass it, (HTTP status, headers, body text), with Kiwoom's JSON body: its
return_code and return_msg, and the errors any API may answer."""

from __future__ import annotations

import json
from typing import Any

OK_MESSAGE = "조회가 완료되었습니다."
BAD_INPUT = (2, "입력 값 오류입니다[1517:입력 값 형식이 올바르지 않습니다]")
SERVER_ERROR = (1, "처리 중 오류가 발생했습니다[1999:예기치 못한 에러가 발생했습니다]")

Answer = tuple[int, dict[str, str], str]  # HTTP status, response headers, body text


def ok(data: dict[str, Any], message: str = OK_MESSAGE, headers: dict[str, str] | None = None) -> Answer:
    """HTTP 200 with `data`, return_code 0 and `message`."""
    return 200, headers or {}, json.dumps(data | {"return_code": 0, "return_msg": message}, ensure_ascii=False)


def error(status: int, reason: tuple[int, str], api_id: str = "", extra: dict[str, str] | None = None) -> Answer:
    """HTTP `status` with the return_code and return_msg of `reason` (its {api_id} filled in), and headers `extra`."""
    code, message = reason
    body = {"return_code": code, "return_msg": message.format(api_id=api_id)}
    return status, extra or {}, json.dumps(body, ensure_ascii=False)
