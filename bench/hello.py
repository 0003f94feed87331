"""The baseline of bench/throughput.py and bench/load.py: a bare Flask app under the same
gunicorn. Every path and method answers the same, so load.py's mixed requests (landing,
quiz steps, submissions, admin pages) each get the bare Flask cost."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"


@app.route("/<path:_path>", methods=["GET", "POST"])
def anything(_path: str):
    return "Hello, World!"
