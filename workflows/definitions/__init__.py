"""Every workflow definition version ever shipped. Never edit a released version: add a new one."""

from .adoption import ADOPTION_V1
from .enterprise import ENTERPRISE_V1
from .sector import SECTOR_V1

ALL_DEFINITIONS = (ENTERPRISE_V1, SECTOR_V1, ADOPTION_V1)

__all__ = ["ADOPTION_V1", "ALL_DEFINITIONS", "ENTERPRISE_V1", "SECTOR_V1"]
