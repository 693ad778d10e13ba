"""Bot authentication both ways, on the Microsoft 365 Agents SDK.

    auth = TeamsAuth.from_settings(settings)
    claims = await auth.check(request.headers.get("Authorization"), service_url)  # or Refused
    token = await auth.token()                          # for the Bot Connector, cached by MSAL

Inbound, the Bot Connector's JWT is checked by the SDK's ``JwtTokenValidator`` (signature
from the published key set, RS256 only, audience = the app id, issuer allow-list, tenant
binding), then its ``serviceurl`` claim must name the activity's ``serviceUrl``. Whatever
is wrong, the caller gets :class:`Refused` (a 401) and the log one WARNING line saying why.

Outbound, the SDK's ``ConnectionManager`` with ``MsalAuth`` (what ``MsalConnectionManager``
is) acquires client-credential tokens; MSAL caches them and renews them before they
expire. MSAL is synchronous, so everything that can touch the network (its first OpenID
discovery included) runs in a worker thread.

Settings, mapped onto the SDK's connection settings:
``MICROSOFT_APP_ID`` → CLIENTID, ``MICROSOFT_APP_PASSWORD`` → CLIENTSECRET,
``MICROSOFT_APP_TENANT_ID`` → TENANTID (a MultiTenant bot signs in at ``botframework.com``),
``MICROSOFT_APP_TYPE=UserAssignedMSI`` → AUTHTYPE user_managed_identity,
``MICROSOFT_LOGIN_URL`` (new, normally unset): where ``login.microsoftonline.com`` and
``login.botframework.com`` are reached instead; the demo and the tests point it at the
local emulator, which publishes its own key. Authentication still runs in full.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from microsoft_agents.authentication.msal import MsalAuth
from microsoft_agents.hosting.core import (
    AgentAuthConfiguration,
    AuthTypes,
    ClaimsIdentity,
    ConnectionManager,
)
from microsoft_agents.hosting.core.authorization import JwtTokenValidator
from msal import ConfidentialClientApplication

from bot.config import Settings

log = logging.getLogger(__name__)

CONNECTOR_RESOURCE = "https://api.botframework.com"
CONNECTOR_SCOPE = f"{CONNECTOR_RESOURCE}/.default"
LOGIN_HOSTS = ("login.microsoftonline.com", "login.botframework.com")
SKEW_SECONDS = 300  # the leeway JwtTokenValidator allows on exp/nbf
HTTP_TIMEOUT = 10.0


class Refused(Exception):
    """The request is not from the Bot Connector: answer 401."""


def redirect(login_url: str | None) -> Callable[[str], str]:
    """URLs on Microsoft's sign-in hosts, rewritten onto ``login_url`` when it is set."""
    base = (login_url or "").rstrip("/")

    def rewrite(url: str) -> str:
        parts = urlsplit(url)
        if not base or parts.hostname not in LOGIN_HOSTS:
            return url
        query = f"?{parts.query}" if parts.query else ""
        return f"{base}{parts.path}{query}"

    return rewrite


class _LoginHttp:
    """MSAL's HTTP client: ``requests`` with a timeout, aimed at the configured login URL."""

    def __init__(self, rewrite: Callable[[str], str]) -> None:
        self._rewrite = rewrite
        self._session = requests.Session()

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self._session.get(self._rewrite(url), **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self._session.post(self._rewrite(url), **kwargs)

    def close(self) -> None:
        self._session.close()


class _KeySet:
    """The SDK's signing-key cache, fetched from the configured login URL.

    The SDK fetches keys in a worker thread and refetches on an unknown key id; this
    only rewrites where from, and refuses a token without a key id before a lookup
    (``alg: none`` tokens have none)."""

    def __init__(self, inner: Any, rewrite: Callable[[str], str]) -> None:
        self._inner = inner
        self._rewrite = rewrite

    async def get_signing_key(self, jwks_uri: str, header: dict[str, Any]) -> Any:
        if not header.get("kid"):
            raise jwt.InvalidTokenError("the token names no signing key (kid)")
        return await self._inner.get_signing_key(self._rewrite(jwks_uri), header)


def _msal_factory(http: _LoginHttp) -> Callable[[AgentAuthConfiguration], MsalAuth]:
    class FirstlineMsal(MsalAuth):
        """``MsalAuth`` whose MSAL client talks through ``http`` and is built off the loop."""

        _built = False

        def _create_client_application(self, tenant_id: str | None = None) -> Any:
            config = self.configuration
            if AuthTypes.client_secret != config.AUTH_TYPE:
                return super()._create_client_application(tenant_id)
            return ConfidentialClientApplication(
                client_id=config.CLIENT_ID,
                authority=MsalAuth._resolve_authority(config, tenant_id),
                client_credential=config.CLIENT_SECRET,
                http_client=http,
            )

        async def get_access_token(
            self, resource_url: str, scopes: list[str], force_refresh: bool = False
        ) -> str:
            if not self._built:
                # Building the MSAL client runs OpenID discovery, a blocking request.
                await asyncio.to_thread(self._get_client)
                self._built = True
            return await super().get_access_token(resource_url, scopes, force_refresh)

    return FirstlineMsal


class TeamsAuth:
    def __init__(self, *, config: AgentAuthConfiguration, login_url: str | None) -> None:
        self.config = config
        if login_url:
            log.warning(
                "MICROSOFT_LOGIN_URL is set: Microsoft sign-in (keys and tokens) is reached at "
                "%s instead of Microsoft's hosts; that is for the demo and tests only",
                login_url,
            )
        rewrite = redirect(login_url)
        self._http = _LoginHttp(rewrite)
        # MsalConnectionManager with our MsalAuth (it fixes the factory to the SDK's own).
        self.connections = ConnectionManager(
            connections_configurations={"SERVICE_CONNECTION": config},
            provider_factory=_msal_factory(self._http),
        )
        self._validator = JwtTokenValidator(config)
        # The SDK logs a line of its own for some refusals; Firstline logs one per refusal.
        logging.getLogger(JwtTokenValidator.__module__).setLevel(logging.ERROR)
        self._validator._jwk_client_manager = _KeySet(  # type: ignore[assignment]
            JwtTokenValidator._jwk_client_manager, rewrite
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TeamsAuth:
        kind = settings.microsoft_app_type.lower()
        multi = kind == "multitenant"
        tenant = settings.microsoft_app_tenant_id or ("botframework.com" if multi else None)
        config = AgentAuthConfiguration(
            auth_type=(
                AuthTypes.user_managed_identity
                if kind == "userassignedmsi"
                else AuthTypes.client_secret
            ),
            client_id=settings.microsoft_app_id,
            client_secret=settings.microsoft_app_password,
            tenant_id=tenant,
            scopes=[CONNECTOR_SCOPE],
            validate_issuer=True,
            anonymous_allowed=False,
            connection_name="SERVICE_CONNECTION",
        )
        return cls(config=config, login_url=settings.microsoft_login_url)

    async def check(self, header: str | None, service_url: str) -> ClaimsIdentity:
        """The caller's verified claims, or :class:`Refused` (logged once, at WARNING)."""
        if not header:
            raise _refuse("no Authorization header")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise _refuse("the Authorization header is not 'Bearer <token>'")
        try:
            claims = await self._validator.validate_token(token)
        except jwt.ExpiredSignatureError:
            raise _refuse(
                "the token has expired, beyond the allowed clock skew of "
                f"{SKEW_SECONDS} s: if Teams keeps sending these, check this machine's clock"
            ) from None
        except jwt.ImmatureSignatureError:
            raise _refuse(
                f"the token is not valid yet, beyond the allowed clock skew of {SKEW_SECONDS} s: "
                "this machine's clock is probably behind"
            ) from None
        except jwt.PyJWKClientError as error:
            raise _refuse(f"no published key verifies the token ({error})") from None
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as error:
            raise _refuse(f"the token is not valid ({type(error).__name__}: {error})") from None
        claimed = str(claims.get_claim_value("serviceurl") or "")
        if claimed and service_url and _url(claimed) != _url(service_url):
            raise _refuse(
                f"the token was issued for serviceUrl {claimed}, the activity names {service_url}"
            )
        return claims

    async def token(self) -> str:
        """An access token for the Bot Connector (cached; renewed before it expires)."""
        provider = self.connections.get_default_connection()
        token: str = await provider.get_access_token(CONNECTOR_RESOURCE, [CONNECTOR_SCOPE])
        return token

    def close(self) -> None:
        self._http.close()


def _refuse(reason: str) -> Refused:
    log.warning("Teams request refused (401): %s", reason)
    return Refused(reason)


def _url(value: str) -> str:
    return value.strip().rstrip("/").lower()
