"""Placeholder, replaced below."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class SmartOAuth2Validator(OAuth2Validator):
    pass
