"""The baseline of bench/throughput.py: a bare Flask app under the same gunicorn."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
