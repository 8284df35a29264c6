# Returns the context object's fields, so that tests can check what a handler sees at
# invocation time (after the restore), not what the checkpoint's environment said.
def handler(event, context):
    return {
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
    }
