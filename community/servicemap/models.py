"""Service points of the red service map (红色服务地图)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base
from community.types import JSONType


class ServicePoint(Base):
    __tablename__ = "service_points"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    type: Mapped[str] = mapped_column(String(30), index=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    address: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    # "24h" or a list of {"days": [...], "open": "HH:MM", "close": "HH:MM"} in Asia/Shanghai time.
    opening_hours: Mapped[Any] = mapped_column(JSONType)
    services: Mapped[list[str]] = mapped_column(JSONType, default=list)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    contact: Mapped[str] = mapped_column(String(80), default="")
    landmark_code: Mapped[str | None] = mapped_column(ForeignKey("landmarks.code"))
    sample: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
