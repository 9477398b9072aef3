"""Turn a predict request into image bytes, refusing anything that is not an image upload.

Two forms are accepted: ``multipart/form-data`` with one or more file parts, and a raw body with
an ``image/*`` content type. Nothing here parses an image: that happens in a worker
(``decode.py``), off the event loop, where a hostile header cannot stall other clients.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from edge_runtime.server.errors import ApiError
from edge_runtime.server.settings import ServeConfig

RAW_HELP = (
    "send images as multipart/form-data file parts (curl -F file=@shirt.png URL) or one image as "
    "the raw body with an image content type (curl --data-binary @shirt.png "
    "-H 'Content-Type: image/png' URL)"
)
# Browsers and HTTP clients label files they cannot identify as octet-stream.
_PART_TYPES = ("image/", "application/octet-stream")


@dataclass(frozen=True)
class Upload:
    """One uploaded image: its file name (None for a raw body) and bytes."""

    name: str | None
    data: bytes

    @property
    def shown(self) -> str:
        return repr(self.name) if self.name else "the request body"


async def read_uploads(request: Request, config: ServeConfig) -> list[Upload]:
    """The request's images, each checked against the limits; ``ApiError`` for anything else."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        found = await _multipart(request, config)
    elif media.startswith("image/"):
        body = await request.body()
        if not body:
            raise ApiError(400, "empty_body", f"the request body is empty; {RAW_HELP}")
        found = [(None, body)]
    elif not media:
        raise ApiError(
            415, "unsupported_media_type", f"the request has no Content-Type; {RAW_HELP}"
        )
    else:
        raise ApiError(
            415, "unsupported_media_type", f"Content-Type {media!r} is not accepted; {RAW_HELP}"
        )
    return [Upload(name, data) for name, data in found]


async def _multipart(request: Request, config: ServeConfig) -> list[tuple[str | None, bytes]]:
    try:
        form = await request.form(max_files=config.max_files, max_fields=config.max_files)
    except StarletteHTTPException as exc:
        detail = str(exc.detail)
        if "Too many files" in detail:
            # 422 like any other violation of the documented schema (maxItems), not 413: the
            # body may be small, it is the number of parts that is refused.
            raise ApiError(
                422,
                "too_many_files",
                f"more than {config.max_files} files in one request; split the batch "
                "(the server's --max-files sets the limit)",
            ) from None
        if "Too many fields" in detail:
            raise ApiError(
                400, "unexpected_field", f"more than {config.max_files} form fields; {RAW_HELP}"
            ) from None
        raise ApiError(
            400, "bad_multipart", f"the multipart body cannot be parsed: {detail}"
        ) from None
    except (ApiError, ClientDisconnect):
        raise
    except Exception as exc:  # the parser's undocumented failures on hostile bodies
        raise ApiError(
            400, "bad_multipart", f"the multipart body cannot be parsed ({type(exc).__name__})"
        ) from None
    try:
        found: list[tuple[str | None, bytes]] = []
        for field_name, value in form.multi_items():
            if not isinstance(value, UploadFile):
                raise ApiError(
                    400,
                    "unexpected_field",
                    f"form field {field_name!r} is not a file; only image file parts are accepted",
                )
            name = value.filename or field_name
            part_type = (value.content_type or "").split(";", 1)[0].strip().lower()
            if part_type and not part_type.startswith(_PART_TYPES):
                raise ApiError(
                    415,
                    "unsupported_media_type",
                    f"file {name!r} has Content-Type {part_type!r}; send image files "
                    "(image/png, image/jpeg, ...)",
                )
            data = await value.read()
            if not data:
                raise ApiError(400, "empty_file", f"file {name!r} is empty; send the image's bytes")
            found.append((name, data))
    finally:
        await form.close()
    if not found:
        raise ApiError(400, "no_images", f"the multipart body has no file parts; {RAW_HELP}")
    return found


__all__ = ["RAW_HELP", "Upload", "read_uploads"]
