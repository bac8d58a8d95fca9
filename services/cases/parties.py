"""The applicant and the agent of a case row, as the workflow's guards see them."""

from __future__ import annotations

from typing import Protocol

from tongban.workflow.identity import DocumentType
from tongban.workflow.parties import AgentRole, Party


class WithParties(Protocol):
    """A case as read (the ORM row or the write path's StoredCase)."""

    @property
    def applicant_name(self) -> str: ...
    @property
    def applicant_document_type(self) -> DocumentType: ...
    @property
    def applicant_id_number(self) -> str: ...
    @property
    def agent_role(self) -> AgentRole | None: ...
    @property
    def agent_name(self) -> str: ...
    @property
    def agent_document_type(self) -> DocumentType | None: ...
    @property
    def agent_document_number(self) -> str: ...


def applicant_of(case: WithParties) -> Party:
    return Party(case.applicant_name, case.applicant_document_type, case.applicant_id_number)


def agent_of(case: WithParties) -> Party | None:
    if case.agent_role is None or case.agent_document_type is None:
        return None
    return Party(case.agent_name, case.agent_document_type, case.agent_document_number)
