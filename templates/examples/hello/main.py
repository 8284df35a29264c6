# Example function for `fnbox serve` (make run registers it as "hello").
def handler(event, context):
    return {"hello": event.get("name", "world")}
