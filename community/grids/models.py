"""The grid tree (community → grid → micro-grid) with polygons, and landmarks inside it."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from community.database import Base
from community.types import JSONType


class GridLevel(StrEnum):
    COMMUNITY = "community"
    GRID = "grid"
    MICRO_GRID = "micro_grid"


class Grid(Base):
    __tablename__ = "grids"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    # Outer ring as [[lon, lat], ...] (GeoJSON order), closed.
    polygon: Mapped[list[list[float]]] = mapped_column(JSONType)
    red: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class Landmark(Base):
    __tablename__ = "landmarks"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    grid_code: Mapped[str] = mapped_column(ForeignKey("grids.code"), index=True)
    names: Mapped[dict[str, str]] = mapped_column(JSONType)
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
