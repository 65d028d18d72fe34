"""The search service: HTTP API and web page over the normalized catalog (FastAPI + uvicorn).

It also consumes catalog.interactions.v1 into the `interactions` table with the project's own
consume loop, and refits the recommendation model from that table in the background."""
