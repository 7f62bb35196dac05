"""HTTP helpers shared by the pages and the API."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404


def stored_file_response(name: str, content_type: str) -> FileResponse:
    """Stream a file from storage to someone the caller has already checked may see it (the files are never
    public URLs). A file missing from storage answers 404, not 500."""
    try:
        handle = default_storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
