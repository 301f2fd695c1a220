#pragma once
// libjpeg (libjpeg-turbo, Debian libjpeg62-turbo-dev) behind two calls that never exit the process:
// libjpeg's default error handler calls exit(), so these install one that longjmps back here, inside
// C, and report the library's message instead. No Swift frame lies between setjmp and longjmp.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

struct spinnprune_jpeg_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void spinnprune_jpeg_error_exit(j_common_ptr cinfo) {
    struct spinnprune_jpeg_error *e = (struct spinnprune_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->message);
    longjmp(e->jump, 1);
}

// Warnings (msg_level -1) are silent, except a file that ends before its last scanline: that is an
// error here, not grey rows filled in by the library.
static void spinnprune_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0) {
        cinfo->err->num_warnings++;
        if (cinfo->err->msg_code == JWRN_JPEG_EOF) { spinnprune_jpeg_error_exit(cinfo); }
    }
}

/// Decodes the JPEG file held in `data` to one 8-bit channel: the greyscale (luminance) decoding when
/// `blue` is 0, else the blue channel of the RGB decoding (a greyscale file gives its grey either way).
/// On success returns 0, `*pixels` (row-major, `*width` x `*height`; free it with `free`).
/// On failure returns -1 with libjpeg's reason in `message` (`message_size` bytes at most).
static inline int spinnprune_jpeg_decode(const unsigned char *data, unsigned long size, int blue,
                                         unsigned char **pixels, int *width, int *height,
                                         char *message, int message_size) {
    struct jpeg_decompress_struct cinfo;
    struct spinnprune_jpeg_error err;
    unsigned char *volatile out = NULL;
    unsigned char *volatile row = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = spinnprune_jpeg_error_exit;
    err.base.emit_message = spinnprune_jpeg_emit_message;
    err.message[0] = 0;
    if (setjmp(err.jump)) {
        snprintf(message, (size_t)message_size, "%s", err.message);
        jpeg_destroy_decompress(&cinfo);
        free(out);
        free(row);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, size);
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        snprintf(message, (size_t)message_size, "no image in the file (tables only)");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    cinfo.out_color_space = (blue && cinfo.num_components != 1) ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(&cinfo);
    const size_t w = cinfo.output_width, h = cinfo.output_height, n = (size_t)cinfo.output_components;
    out = (unsigned char *)malloc(w * h > 0 ? w * h : 1);
    row = (unsigned char *)malloc(w * n > 0 ? w * n : 1);
    if (!out || !row) {
        snprintf(err.message, sizeof err.message, "out of memory for a %zux%zu image", w, h);
        longjmp(err.jump, 1);
    }
    while (cinfo.output_scanline < h) {
        const size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = { row };
        if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
            snprintf(err.message, sizeof err.message, "no data for row %zu of %zu", y, h);
            longjmp(err.jump, 1);
        }
        for (size_t x = 0; x < w; x++) { out[y * w + x] = row[x * n + (n - 1)]; }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *pixels = out;
    *width = (int)w;
    *height = (int)h;
    return 0;
}

/// Encodes 8-bit pixels (`components` 1: greyscale, 3: RGB interleaved; row-major) as a baseline JPEG
/// of the given quality (1-100). On success returns 0 and `*jpeg` (`*size` bytes; free it with `free`).
static inline int spinnprune_jpeg_encode(const unsigned char *pixels, int width, int height, int components,
                                         int quality, unsigned char **jpeg, unsigned long *size,
                                         char *message, int message_size) {
    struct jpeg_compress_struct cinfo;
    struct spinnprune_jpeg_error err;
    unsigned char *buffer = NULL;
    unsigned long length = 0;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = spinnprune_jpeg_error_exit;
    err.base.emit_message = spinnprune_jpeg_emit_message;
    err.message[0] = 0;
    if (setjmp(err.jump)) {
        snprintf(message, (size_t)message_size, "%s", err.message);
        jpeg_destroy_compress(&cinfo);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &length);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = components;
    cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[1] = { (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * (size_t)width * (size_t)components) };
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *jpeg = buffer;
    *size = length;
    return 0;
}
