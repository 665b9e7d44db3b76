"""Kiwoom answers as tests need them: kt00005's seed example and variations of it, kt00015's sample line, a `00`
push of the real-time feed."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

from etl.kiwoom.pages import Page, parse_json_object
from etl.store.capture import Capture

# The response example of the API page (seeds/kt00005.md), verbatim.
SEED_EXAMPLE: dict[str, Any] = {
    "entr": "000000017534",
    "entr_d1": "000000017450",
    "entr_d2": "000000012550",
    "pymn_alow_amt": "000000085341",
    "uncl_stk_amt": "000000000000",
    "repl_amt": "000003915500",
    "rght_repl_amt": "000000000000",
    "ord_alowa": "000000085341",
    "ch_uncla": "000000000000",
    "crd_int_npay_gold": "000000000000",
    "etc_loana": "000000000000",
    "nrpy_loan": "000000000000",
    "profa_ch": "000000032193",
    "repl_profa": "000000000000",
    "stk_buy_tot_amt": "000006122786",
    "evlt_amt_tot": "000006236342",
    "tot_pl_tot": "000000113556",
    "tot_pl_rt": "1.8546",
    "tot_re_buy_alowa": "000000135970",
    "20ord_alow_amt": "000000012550",
    "30ord_alow_amt": "000000012550",
    "40ord_alow_amt": "000000012550",
    "50ord_alow_amt": "000000012550",
    "60ord_alow_amt": "000000012550",
    "100ord_alow_amt": "000000012550",
    "crd_loan_tot": "000000000000",
    "crd_loan_ls_tot": "000000000000",
    "crd_grnt_rt": "0.00",
    "dpst_grnt_use_amt_amt": "000000000000",
    "grnt_loan_amt": "000000000000",
    "stk_cntr_remn": [
        {
            "crd_tp": "00",
            "loan_dt": "",
            "expr_dt": "",
            "stk_cd": "A005930",
            "stk_nm": "삼성전자",
            "setl_remn": "000000000003",
            "cur_qty": "000000000003",
            "cur_prc": "000000070000",
            "buy_uv": "000000124500",
            "pur_amt": "000000373500",
            "evlt_amt": "000000209542",
            "evltv_prft": "-00000163958",
            "pl_rt": "-43.8977",
        }
    ],
    "return_code": 0,
    "return_msg": "조회가 완료되었습니다.",
}


def answer(n: int) -> dict[str, Any]:
    """A kt00005 answer with n + 1 lines, the seed's first."""
    body = copy.deepcopy(SEED_EXAMPLE)
    line = body["stk_cntr_remn"][0]
    body["stk_cntr_remn"] += [dict(line, stk_cd=f"A{100000 + i:06d}", cur_qty=f"{i:012d}") for i in range(1, n + 1)]
    return body


def line(n: int, **changes: Any) -> str:
    """A JSON line: account 501234567n's snapshot at 06:30 UTC on day n + 1 of November 2026."""
    value: dict[str, Any] = {
        "account_no": "5012345678",
        "exchange": "KRX",
        "captured_at": f"2026-11-{n + 1:02d}T06:30:00Z",
        "pages": [answer(n)],
    }
    value.update(changes)
    return json.dumps(value, ensure_ascii=False)


def capture(captured_at: datetime) -> Capture:
    text = json.dumps(SEED_EXAMPLE, ensure_ascii=False)
    page = Page("kt00005", 0, captured_at, 200, text, SEED_EXAMPLE, "N", None)
    return Capture("5012345678", "KRX", "schedule", captured_at, (page,))


# The line of Kiwoom's own kt00015 sample answer, as the API page prints it.
SAMPLE_LINE: dict[str, str] = {
    "trde_dt": "20241121", "trde_no": "000000001", "rmrk_nm": "장내매도", "crd_deal_tp_nm": "보통매매",
    "exct_amt": "000000000056798", "loan_amt_rpya": "000000000000000", "fc_trde_amt": "0.00", "fc_exct_amt": "0.00",
    "entra_remn": "000000994658290", "crnc_cd": "KRW", "trde_ocr_tp": "9", "trde_kind_nm": "매매", "stk_nm": "삼성전자",
    "trde_amt": "000000000056900", "trde_agri_tax": "000000000000102", "rpy_diffa": "000000000000000",
    "fc_trde_tax": "0.00", "dly_sum": "000000000000000", "fc_entra": "0.00", "mdia_tp_nm": "REST API", "io_tp": "1",
    "io_tp_nm": "매도", "orig_deal_no": "000000000", "stk_cd": "A005930", "trde_qty_jwa_cnt": "1",
    "cmsn": "000000000000000", "int_ls_usfe": "000000000000000", "fc_cmsn": "0.00", "fc_dly_sum": "0.00",
    "vlbl_nowrm": "21", "proc_tm": "08:12:35", "isin_cd": "KR7005930003", "stex_cd": "", "stex_nm": "",
    "trde_unit": "56,900", "incm_resi_tax": "000000000000000", "loan_dt": "", "uncl_ocr": "", "rpym_sum": "",
    "cntr_dt": "20241119", "rcpy_no": "", "prcsr": "DAILY", "proc_brch": "키움은행", "trde_stle": "",
    "txon_base_pric": "0.00", "tax_sum_cmsn": "000000000000102", "frgn_pay_txam": "0.00", "fc_uncl_ocr": "0.00",
    "rpym_sum_fr": "", "rcpmnyer": "", "trde_prtc_tp": "11",
}  # fmt: skip


def page(lines: Any, *, key: str = "trst_ovrl_trde_prps_array", page_no: int = 0) -> Page:
    body = {"acnt_no": "6081-2***-11 [김키움]", key: lines, "return_code": 0, "return_msg": "조회가 완료되었습니다"}
    text = json.dumps(body, ensure_ascii=False)
    return Page("kt00015", page_no, datetime(2026, 12, 2, 11, 0, tzinfo=UTC), 200, text, parse_json_object(text))


def summary_page(d2: int, rate: str, lines: list[tuple[str, str, int, int, str]]) -> dict[str, Any]:
    """A kt00005 answer: the summary figures that matter here, and (code, name, quantity, evaluation, rate) lines."""
    return {
        "entr": "000000017534",
        "entr_d2": f"{d2:012d}",
        "evlt_amt_tot": f"{sum(line[3] for line in lines):012d}",
        "tot_pl_rt": rate,
        "crd_grnt_rt": "0.00",
        "stk_cntr_remn": [
            {"stk_cd": f"A{code}", "stk_nm": name, "cur_qty": f"{qty:012d}", "evlt_amt": f"{evlt:012d}", "pl_rt": r}
            for code, name, qty, evlt, r in lines
        ],
        "return_code": 0,
        "return_msg": "조회가 완료되었습니다.",
    }


FILL_DAY = date(2026, 12, 7)
FILL_RECEIVED = datetime(2026, 12, 7, 0, 31, 5, 250000, tzinfo=UTC)


def fill_push(**fids: Any) -> dict[str, Any]:
    """A 체결 push of 3 shares of Samsung bought at 60,700 on KRX at 09:31:04 KST, with `fids` changed."""
    values = {
        "9201": "8000000011",
        "9203": "0000123",
        "9205": "",
        "9001": "A005930",
        "912": "JJ",
        "913": "체결",
        "302": "삼성전자",
        "900": "10",
        "901": "60700",
        "902": "7",
        "903": "182100",
        "904": "0000000",
        "905": "+매수",
        "906": "보통",
        "907": "2",
        "908": "093104",
        "909": "45678",
        "910": "60700",
        "911": "3",
        "10": "+60700",
        "938": "270",
        "939": "0",
        "2134": "1",
        "2135": "KRX",
        "2136": "N",
    }
    values.update(fids)
    return {"type": "00", "name": "주문체결", "item": "005930", "values": values}
