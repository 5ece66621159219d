from oauthlib.openid import Server


class SmartServer(Server):
    pass
