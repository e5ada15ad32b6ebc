"""The yardstick: a bare FastAPI hello-JSON, served by plain uvicorn in the same run."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "hello"}
