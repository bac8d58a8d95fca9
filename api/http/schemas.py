"""The session API's bodies: sign-in in, who am I out. (Case bodies are made from the
commands in api.http.bodies; case reads are the services' own read models.)"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from .bodies import Input, text

Username = Annotated[str, text(64, min_length=1)]
Password = Annotated[str, text(128, min_length=1)]


class SessionIn(Input):
    username: Username
    password: Password


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    role_label: str
    unit: str
    office_code: str | None
    department_code: str | None
    region_code: str | None
    csrf_token: str = Field(description="For cookie sessions: send as X-CSRF-Token on changes.")
    session_expires_at: datetime


class SessionOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    csrf_token: str
    user: MeOut


class PasswordChangeIn(Input):
    current_password: Password
    new_password: Password


class PasswordChangeOut(BaseModel):
    other_sessions_revoked: int = Field(description="Your other sessions, now signed out.")
