"""GET /reset (the hosted reset page), GET /reset/assets/{name} (its and the help article's scripts
and stylesheets), GET /help/reset-email (the client help article for a reset mail that did not
arrive; ``?firm=`` names that firm's contact) and GET /v1/openapi.json: the service's public
documents.

The page never sees the token: it travels in the URL fragment, which browsers do not send. So
opening the page reads and changes nothing; the script calls verify (read-only) and confirm.
"""

from typing import Annotated

from pwreset.api import help_page, pages, warm_up
from pwreset.api.powertools import Query, Response
from pwreset.api.resolver import api_handler, create_app, error_response, request_locale
from pwreset.api.schemas import error_responses

app = create_app()

# A content-hashed name never changes meaning, so it may be cached for good; any other name
# (unhashed, or a hash from before a deploy) is revalidated on every use.
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"


@app.get(
    "/reset",
    summary="The hosted reset page (the token travels in the URL fragment)",
    tags=["pages"],
    responses={200: {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}},
)
def page() -> Response[str]:
    locale = request_locale(app)
    return _page(pages.render_reset_page(locale, pages.relative_root(app.current_event.path)), locale)


@app.get(
    "/help/reset-email",
    summary="The client help article: what to do when the reset mail does not arrive",
    tags=["pages"],
    responses={
        200: {"description": "The article", "content": {"text/html": {"schema": {"type": "string"}}}},
        **error_responses(400),  # e.g. lang given twice
    },
)
def help_article(
    lang: Annotated[
        str | None,
        Query(description="de or en; anything else, or none, takes Accept-Language"),
    ] = None,
    firm: Annotated[
        str | None,
        Query(description="The firm whose contact the article names; an unknown one: the neutral article"),
    ] = None,
) -> Response[str]:
    event = app.current_event
    locale = help_page.page_locale(lang, event.headers.get("accept-language"))
    root = help_page.help_root(event.path)
    return _page(help_page.render_help_page(locale, root, help_page.firm_contact(firm)), locale)


def _page(html: str, locale: str) -> Response[str]:
    """A hosted page in ``locale``, which the request's language chose (so caches keep one per
    Accept-Language)."""
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=html,
        headers={**pages.PAGE_HEADERS, "Content-Language": locale, "Vary": "Accept-Language"},
    )


@app.get(
    "/reset/assets/<name>",
    summary="The page's script and stylesheet",
    tags=["pages"],
    responses={
        200: {
            "description": "The asset",
            "content": {
                "text/javascript": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}},
            },
        },
        **error_responses(404),
    },
)
def asset(name: str) -> Response[str]:
    found = pages.find_asset(name)
    if found is None:
        return error_response(404, "not_found", request_locale(app))
    content, current = found
    return Response(
        status_code=200,
        content_type=content.content_type,
        body=content.body,
        headers={
            "Cache-Control": _IMMUTABLE if current else _REVALIDATE,
            "X-Content-Type-Options": "nosniff",
        },
    )


@app.get(
    "/v1/openapi.json",
    summary="This API's OpenAPI document",
    tags=["documentation"],
    responses={
        200: {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
def openapi() -> Response[str]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=pages.openapi_document(),
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


lambda_handler = api_handler(app, with_metrics=False)


# SnapStart (pwreset.runtime.snapstart): prepared once, before the snapshot, instead of by a first request.
warm_up.before_snapshot(app, services=("dynamodb",), modules=("pwreset.storage.models",))
