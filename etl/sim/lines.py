"""The history APIs' lines as Kiwoom writes them: kt00015's masked account and ledger line, kt00002's day."""

from __future__ import annotations

from datetime import date

from etl.sim.accounts import SimAccount
from etl.sim.formats import amount
from etl.sim.history import Event, History

# kind → io_tp, io_tp_nm, trde_ocr_tp, trde_kind_nm, trde_prtc_tp. Kiwoom publishes no code lists: the sell's are its
# sample's, the rest made up alike. A dividend and the credit line come in as 입금, so a reader must go by the remark
# first; the other line's names hold no keyword at all.
LINE_CODES = {
    "sell": ("1", "매도", "9", "매매", "11"),
    "buy": ("2", "매수", "9", "매매", "12"),
    "deposit": ("3", "입금", "1", "입출금", "01"),
    "withdrawal": ("4", "출금", "1", "입출금", "02"),
    "dividend": ("3", "입금", "1", "입출금", "03"),
    "loan": ("3", "입금", "1", "입출금", "04"),
    "securities_in": ("5", "입고", "8", "입출고", "21"),
    "other": ("0", "기타", "1", "입출금", "09"),
}
EXCHANGE_NAMES = {"KRX": "한국거래소", "NXT": "넥스트트레이드"}


def masked(account: SimAccount) -> str:
    """kt00015's acnt_no: the number with its middle hidden, and the holder ("6081-2***-11 [김키움]")."""
    number = account.acct_no
    return f"{number[:4]}-{number[4]}***-{number[8:10]} [{account.holder}]"


def isin(code: str) -> str:
    """The ISIN of a KRX stock code: KR7, the code, 00, and the check digit (Luhn over the letters as numbers)."""
    body = f"KR7{code}00"
    digits = "".join(str(int(character, 36)) for character in body)
    total = sum(sum(divmod(int(d) * (2 if n % 2 == 0 else 1), 10)) for n, d in enumerate(reversed(digits)))
    return body + str(-total % 10)


def ledger_line(event: Event, holder: str) -> dict[str, str]:
    """kt00015's line for `event`, every field of the API page, in its order."""

    def money(value: int) -> str:
        return amount(value, 15)

    io_type, io_name, occurrence, occurrence_name, history_type = LINE_CODES[event.kind]
    traded = event.kind in ("buy", "sell")
    return {
        "trde_dt": f"{event.day:%Y%m%d}",
        "trde_no": f"{event.number:09d}",
        "rmrk_nm": event.remark,
        "crd_deal_tp_nm": "보통매매" if traded else "",
        "exct_amt": money(abs(event.net)),
        "loan_amt_rpya": money(0),
        "fc_trde_amt": "0.00",
        "fc_exct_amt": "0.00",
        "entra_remn": money(event.balance),
        "crnc_cd": "KRW",
        "trde_ocr_tp": occurrence,
        "trde_kind_nm": occurrence_name,
        "stk_nm": event.name,
        "trde_amt": money(event.amount),
        "trde_agri_tax": money(event.tax),
        "rpy_diffa": money(0),
        "fc_trde_tax": "0.00",
        "dly_sum": money(0),
        "fc_entra": "0.00",
        "mdia_tp_nm": "REST API" if traded else "",
        "io_tp": io_type,
        "io_tp_nm": io_name,
        "orig_deal_no": "000000000",
        "stk_cd": f"A{event.code}" if event.code else "",
        "trde_qty_jwa_cnt": str(event.quantity),
        "cmsn": money(event.commission),
        "int_ls_usfe": money(0),
        "fc_cmsn": "0.00",
        "fc_dly_sum": "0.00",
        "vlbl_nowrm": str(event.held),
        "proc_tm": event.time,
        "isin_cd": isin(event.code) if event.code else "",
        "stex_cd": event.exchange if traded else "",
        "stex_nm": EXCHANGE_NAMES[event.exchange] if traded else "",
        "trde_unit": f"{event.price:,}",
        "incm_resi_tax": money(event.income_tax),
        "loan_dt": f"{event.day:%Y%m%d}" if event.kind == "loan" else "",
        "uncl_ocr": "",
        "rpym_sum": "",
        "cntr_dt": f"{event.trade_day:%Y%m%d}",
        "rcpy_no": "",
        "prcsr": "DAILY" if event.kind in ("buy", "sell", "dividend") else "",  # booked by the morning batch
        "proc_brch": "키움은행",
        "trde_stle": "",
        "txon_base_pric": "0.00",
        "tax_sum_cmsn": money(event.tax + event.income_tax + event.commission),
        "frgn_pay_txam": "0.00",
        "fc_uncl_ocr": "0.00",
        "rpym_sum_fr": "",
        "rcpmnyer": holder if event.kind == "deposit" else "",
        "trde_prtc_tp": history_type,
    }


def assets_line(history: History, day: date) -> dict[str, str]:
    """kt00002's line for `day`."""
    cash = history.cash(day)
    assets = cash + sum(p.settled * history.price(p.code, day) for p in history.positions(day))
    values = {
        "entr": cash,
        "grnt_use_amt": history.loan(day),
        "crd_loan": 0,
        "ls_grnt": 0,
        "repl_amt": 0,
        "prsm_dpst_aset_amt": assets,
        "prsm_dpst_aset_amt_bncr_skip": assets,
    }
    return {"dt": f"{day:%Y%m%d}"} | {name: amount(value) for name, value in values.items()}
