"""REST API v1: postcode certificates — issue (PDF, scope ``certificate``), verify (also against the registry:
retired or changed since issue is revoked), and the public keys anyone needs to verify offline; a thin adapter
on :mod:`jinef.read.certificates`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from jinef.api.deps import ApiError, ServiceState, context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.routers.postcodes import invalid_postcode
from jinef.api.schemas import ErrorResponse
from jinef.common.messages import message
from jinef.model import postcode as pc
from jinef.read.certificates.issue import check_with_registry, issue_certificate
from jinef.read.certificates.keys import CertificateKeys, export_public

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (401, 403, 404, 422, 429)}


class VerifyIn(BaseModel):
    """A certificate's payload (the text of its QR code)."""

    model_config = ConfigDict(extra="forbid")
    payload: str = Field(max_length=400)


def _keys(state: ServiceState) -> CertificateKeys:
    return CertificateKeys.open(state.registry.location.certificate_keys, create=True)


@router.get("/keys", summary="The public keys that verify certificates offline (old keys included)",
            response_class=Response)
async def public_keys(request: Request) -> Any:
    """Public keys as ``kid: PEM`` blocks: what `jinef certificate verify --public-keys` takes."""
    context(request).endpoint = "/v1/certificates/keys"
    ring = await asyncio.to_thread(_keys, service(request))
    return Response(export_public(ring.public_keys()), media_type="text/plain; charset=utf-8")


@router.post("/verify", responses=_ERRORS,
             summary="Check a certificate: signature, dates, and whether the unit was retired or changed since issue",
             dependencies=[require_scope("certificate", "lookup")])
async def verify(body: VerifyIn, request: Request) -> Any:
    """The verdict with its reason in English and Persian (200 whatever the verdict)."""
    state = service(request)
    ctx = context(request)
    ctx.endpoint, ctx.items = "/v1/certificates/verify", 1
    ring = await asyncio.to_thread(_keys, state)
    verdict = check_with_registry(body.payload, ring.public_keys(), state.registry.get())
    ctx.outcome = "ok" if verdict.valid else verdict.status
    return JSONResponse(verdict.as_dict())


@router.get("/{postcode}", responses={**_ERRORS, 200: {"content": {"application/pdf": {}}}},
            summary="Issue the certificate of an active postcode (A4 PDF, Persian, signed QR code)",
            response_class=Response, dependencies=[require_scope("certificate")])
async def issue(postcode: str, request: Request) -> Any:
    """A new certificate (new serial each time) of one postcode."""
    state = service(request)
    ctx = context(request)
    ctx.endpoint, ctx.items = "/v1/certificates/{postcode}", 1
    v = pc.validate(postcode)
    if v.postcode is None:
        raise invalid_postcode(v)
    ring = await asyncio.to_thread(_keys, state)
    issued = await asyncio.to_thread(issue_certificate, state.registry.get(), v.postcode, ring)
    if issued is None:
        raise ApiError(404, "not_found", message("postcode.no_active_unit", postcode=v.postcode))
    ctx.outcome = "ok"
    return Response(issued.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="certificate-{v.postcode}.pdf"',
                             "X-Certificate-Serial": issued.serial})
