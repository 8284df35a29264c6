# Example function for `fnbox serve` (make run registers it as "wordcount"): counts the words of
# event["text"] and logs a line to stderr (the log, returned with X-Fnbox-Log: tail).
import collections
import sys


def handler(event, context):
    words = str(event.get("text", "")).lower().split()
    print("counting %d words" % len(words), file=sys.stderr)
    return {"words": len(words), "top": collections.Counter(words).most_common(3)}
