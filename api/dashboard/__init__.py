"""The admin dashboard: server-drawn charts of spend, cost per conversation and ratings."""

from api.dashboard.routes import router

__all__ = ["router"]
