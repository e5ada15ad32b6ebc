from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.validation import PhoneNumber, SingleLine

OtpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
DeviceText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), SingleLine]


class SendOtpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber


class SendOtpOut(BaseModel):
    message: str
    expires_in: int
    resend_after: int


class VerifyOtpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber
    otp: OtpCode
    device_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=128), SingleLine] | None
    ) = None
    device_name: DeviceText | None = None
    device_platform: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), SingleLine] | None
    ) = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str | None
    name: str | None
    role: Literal["user", "admin"]


class LoginUserOut(UserOut):
    is_new_user: bool


class TokenPairOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class LoginOut(TokenPairOut):
    user: LoginUserOut = Field(validation_alias="login_user")


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
