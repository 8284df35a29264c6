import random


def handler(event, context):
    return {"hello": event.get("name", "world"), "r": random.random()}
