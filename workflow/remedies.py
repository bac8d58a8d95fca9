"""The remedies a refusal to accept tells the applicant about (救济途径和期限).

行政复议法 (2023) 第二十条: within sixty days of learning of the act; 行政诉讼法 第四十六条:
within six months. The notice names the review body and the court when the department
gives them, and otherwise says "依法".
"""

from __future__ import annotations

REVIEW_DAYS = 60
LITIGATION_MONTHS = 6


def remedies(review_body: str = "", court: str = "") -> str:
    review_to = f"向{review_body.strip()}" if review_body.strip() else "依法"
    court_to = f"向{court.strip()}" if court.strip() else "依法向人民法院"
    return (
        f"申请人如不服本决定，可以自收到本通知之日起{REVIEW_DAYS}日内{review_to}申请行政复议，"
        f"或者自收到本通知之日起{LITIGATION_MONTHS}个月内{court_to}提起行政诉讼。"
    )
