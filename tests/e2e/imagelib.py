"""Small helpers for tests that rewrite fnbox images (tests/e2e/image_mutate.py, image_patch.py):
the section table, CRC32C, and fixing every checksum after a change. Format: docs/image-format.md."""
import struct

HDR, ENTRY = 256, 64


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def sections(img):
    """{name: (table entry offset, data offset, length)}"""
    nsec, toff = struct.unpack_from("<I", img, 68)[0], struct.unpack_from("<Q", img, 72)[0]
    out = {}
    for i in range(nsec):
        e = toff + i * ENTRY
        name = bytes(img[e:e + 16]).rstrip(b"\0").decode()
        out[name] = (e, struct.unpack_from("<Q", img, e + 24)[0], struct.unpack_from("<Q", img, e + 32)[0])
    return out


def fix_raw_section(img, name):
    """Recompute a raw section's checksum, then the table's and the header's."""
    e, off, length = sections(img)[name]
    nsec, toff = struct.unpack_from("<I", img, 68)[0], struct.unpack_from("<Q", img, 72)[0]
    struct.pack_into("<I", img, e + 48, crc32c(bytes(img[off:off + length])))
    struct.pack_into("<I", img, 80, crc32c(bytes(img[toff:toff + nsec * ENTRY])))
    struct.pack_into("<I", img, HDR - 4, crc32c(bytes(img[:HDR - 4])))


def zero_first_page_ref(path):
    """Set the count of the first entry of the image file's page reference table to 0 and fix
    the checksums: a crafted table every checksum agrees with (tests of inspect --verify, of
    restore and of POST /v1/images)."""
    img = bytearray(open(path, "rb").read())
    struct.pack_into("<I", img, sections(img)["pagerefs"][1] + 8, 0)
    fix_raw_section(img, "pagerefs")
    open(path, "wb").write(img)
