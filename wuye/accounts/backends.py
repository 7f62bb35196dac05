from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from .selectors import user_by_login


class PhoneOrUsernameBackend(ModelBackend):
    """Sign in with a username or an 11-digit mobile number. Inactive users are refused here and, on every later
    request, by ModelBackend.get_user — so disabling an account ends its sessions at once."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = user_by_login(username)
        if user is None:
            # Run the hasher anyway so a missing account takes as long as a wrong password.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
