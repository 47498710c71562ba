"""Evidence photos are bounded: a count, bytes and pixels per photo, and only real images. A
refused photo refuses the whole call, with a stable code, and files nothing."""

import io
import random
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.errors import ValidationFailed
from returns import services
from returns.models import InspectionPhoto, ParcelPhoto, ReturnLineInspection, UnmatchedParcel
from returns.tests.warehouse import every_line, png, received_return

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def claims_size(width: int, height: int) -> SimpleUploadedFile:
    """A valid, tiny PNG whose header claims `width` × `height` pixels: a few hundred bytes that
    would decode to gigabytes."""
    buffer = io.BytesIO()
    Image.new("1", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    return SimpleUploadedFile("huge.png", bytes(data), content_type="image/png")


def noise(name="noise.png", side=64) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.frombytes("L", (side, side), random.Random(side).randbytes(side * side)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _refused(call) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        call()
    return refused.value


@pytest.mark.parametrize(("photo", "code"), [
    (claims_size(10_000, 10_000), "photo_too_large"),  # 100 Mpx: Pillow only warns below 179 Mpx
    (claims_size(50_000, 50_000), "invalid_photo"),  # Pillow's own decompression-bomb guard
    (SimpleUploadedFile("evil.png", b"<?php system($_GET['c']); ?>", content_type="image/png"), "invalid_photo"),
    (SimpleUploadedFile("empty.png", b"", content_type="image/png"), "invalid_photo"),
    (SimpleUploadedFile("doc.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj", content_type="image/png"),
     "invalid_photo"),
])
def test_a_parcel_photo_that_is_not_a_sane_image_is_refused_and_nothing_is_filed(warehouse, media, photo, code):
    refused = _refused(lambda: services.parcel_receive(by=warehouse, tracking_number="1ZLOST",
                                                       photos=[png("fine.png"), photo]))
    assert refused.code == code
    assert [v.field for v in refused.violations] == ["photos[1]"]
    assert not UnmatchedParcel.objects.exists() and not ParcelPhoto.objects.exists()
    assert list(media.rglob("*.png")) == []


def test_a_photo_over_the_byte_limit_is_refused(warehouse, media, settings):
    settings.RETURNS = {**settings.RETURNS, "MAX_PHOTO_BYTES": 1024}
    big = noise()
    assert big.size > 1024
    refused = _refused(lambda: services.parcel_receive(by=warehouse, tracking_number="1ZBIG", photos=[big]))
    assert refused.code == "photo_too_large" and "at most" in refused.message + refused.violations[0].message
    assert not UnmatchedParcel.objects.exists()


def test_too_many_photos_are_refused(warehouse, media, settings):
    settings.RETURNS = {**settings.RETURNS, "MAX_PHOTOS": 2}
    refused = _refused(lambda: services.parcel_receive(by=warehouse, tracking_number="1ZMANY",
                                                       photos=[png("a.png"), png("b.png"), png("c.png")]))
    assert refused.code == "too_many_photos"


def test_an_inspection_with_a_bad_photo_records_no_condition_and_files_nothing(order, customer, warehouse, media):
    rr = received_return(order, customer, warehouse)
    inspections = every_line(rr, "new")
    first = next(iter(inspections))
    inspections[first] = {**inspections[first], "photos": [claims_size(12_000, 9_000)]}

    refused = _refused(lambda: services.return_inspect(return_request=rr, by=warehouse, inspections=inspections))

    assert refused.code == "photo_too_large"
    assert not ReturnLineInspection.objects.exists() and not InspectionPhoto.objects.exists()
    rr.refresh_from_db()
    assert rr.status == "received"


def test_a_real_photo_within_the_limits_is_kept(warehouse, media):
    receipt = services.parcel_receive(by=warehouse, tracking_number="1ZOK", photos=[noise("box.png", side=256)])
    (photo,) = ParcelPhoto.objects.filter(parcel=receipt.parcel)
    assert (media / photo.image.name).stat().st_size > 0
