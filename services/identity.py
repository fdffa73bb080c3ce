"""Users and the Actor a use case acts as."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bargaining.actors import Actor
from bargaining.errors import NotFound, ValidationError
from bargaining.models import ROLES, OrgUnit, User, UserRole

ROLE_LABELS = {
    "instructor": "工资集体协商指导员",
    "auditor": "督查员",
    "federation_admin": "工会管理员",
    "reviewer": "审查员（劳动行政部门）",
}


def actor_for(user: User) -> Actor:
    return Actor(user_id=user.id, name=user.display_name, roles=user.roles, org_path=user.org_unit.path)


def actor_by_username(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"找不到用户 {username}。")
    if not user.active:
        raise ValidationError(f"用户 {username} 已停用。")
    return actor_for(user)


def add_user(
    session: Session, *, username: str, display_name: str, org_unit: OrgUnit, roles: list[str]
) -> User:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        allowed = "、".join(f"{r}（{ROLE_LABELS[r]}）" for r in ROLES)
        raise ValidationError(f"未知角色：{'、'.join(unknown)}。可选：{allowed}")
    if not roles:
        raise ValidationError("至少需要一个角色。")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(f"用户名 {username} 已存在。")
    user = User(username=username, display_name=display_name, org_unit_id=org_unit.id)
    user.role_rows = [UserRole(role=r) for r in dict.fromkeys(roles)]
    session.add(user)
    session.flush()
    user.org_unit = org_unit
    return user
