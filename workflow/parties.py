"""Who appears at the window: the applicant, or an agent for them, and who is checked."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .identity import DocumentType


class AgentRole(StrEnum):
    PROXY = "proxy"  # 代办人: acts for a person, with a 授权委托书
    HANDLER = "handler"  # 经办人: a company's employee acting for it
    GUARDIAN = "guardian"  # 监护人: for a minor or a person without full capacity


AGENT_ROLE_LABELS: dict[AgentRole, str] = {
    AgentRole.PROXY: "代办人",
    AgentRole.HANDLER: "经办人",
    AgentRole.GUARDIAN: "监护人",
}


class Present(StrEnum):
    """Whose ID document the window checks: the person standing at it."""

    APPLICANT = "applicant"
    AGENT = "agent"


PRESENT_LABELS: dict[Present, str] = {
    Present.APPLICANT: "申请人本人",
    Present.AGENT: "代理人（代办人、经办人或监护人）",
}


@dataclass(frozen=True)
class Party:
    """A person (or a legal person) as registered on a case, with the document on file."""

    name: str
    document_type: DocumentType
    document_number: str
