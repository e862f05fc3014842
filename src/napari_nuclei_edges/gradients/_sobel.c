/* Gx, Gy, magnitude and direction of one padded float32 tile, in one pass.

   Built at run time by napari_nuclei_edges/gradients/_native.py (gcc, OpenMP)
   and linked against torch's libtorch_cpu for SLEEF's atan2, the function that
   torch.atan2 itself vectorises, so no accuracy is traded for speed. The
   arithmetic is that of _tiles._Geometry.stencil, term for term and in the same
   order (built with -ffp-contract=off), so Gx and Gy are bit-equal to the eager
   engine; the square root here is correctly rounded (IEEE), as numpy's is.

   Every output row reads three rows of the padded tile while they are in the
   cache and writes its four outputs once: one pass where the eager engine needs
   ten. */

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define LANES 16
typedef __m512 vec;
extern __m512 Sleef_atan2f16_u10(__m512, __m512);
#define LOAD _mm512_loadu_ps
#define STORE _mm512_storeu_ps
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define MUL _mm512_mul_ps
#define SQRT _mm512_sqrt_ps
#define SET1 _mm512_set1_ps
#define ATAN2 Sleef_atan2f16_u10
#elif defined(__AVX2__)
#define LANES 8
typedef __m256 vec;
extern __m256 Sleef_atan2f8_u10(__m256, __m256);
#define LOAD _mm256_loadu_ps
#define STORE _mm256_storeu_ps
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define SQRT _mm256_sqrt_ps
#define SET1 _mm256_set1_ps
#define ATAN2 Sleef_atan2f8_u10
#else
#error "built only for AVX2 or AVX-512 (the Python side falls back to torch otherwise)"
#endif

/* LANES outputs; a, b, c point at the same column of three consecutive padded rows. */
static inline void lanes(const float *a, const float *b, const float *c, float *gx,
                         float *gy, float *magnitude, float *direction) {
    const vec two = SET1(2.0f);
    /* Gx: a [-1, 0, 1] difference along x, then a [1, 2, 1] sum along y */
    vec x = ADD(ADD(SUB(LOAD(a + 2), LOAD(a)), SUB(LOAD(c + 2), LOAD(c))),
                MUL(SUB(LOAD(b + 2), LOAD(b)), two));
    /* Gy: a [1, 2, 1] sum along x, then a [-1, 0, 1] difference along y */
    vec above = ADD(ADD(LOAD(a), LOAD(a + 2)), MUL(LOAD(a + 1), two));
    vec below = ADD(ADD(LOAD(c), LOAD(c + 2)), MUL(LOAD(c + 1), two));
    vec y = SUB(below, above);
    STORE(gx, x);
    STORE(gy, y);
    STORE(magnitude, SQRT(ADD(MUL(x, x), MUL(y, y))));
    STORE(direction, ATAN2(y, x));
}

/* The tile: `images` blocks of `rows + 2` padded rows of `width + 2` floats
   (strides in floats; columns contiguous). The outputs: `images` x `rows` x
   `width`, the same strides for all four, columns contiguous. */
int sobel_tile(const float *padded, int64_t images, int64_t rows, int64_t width,
               int64_t padded_image_stride, int64_t padded_row_stride, float *gx,
               float *gy, float *magnitude, float *direction, int64_t image_stride,
               int64_t row_stride, int threads) {
    const int64_t total = images * rows;
    if (threads < 1)
        threads = 1;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t k = 0; k < total; k++) {
        const int64_t image = k / rows, row = k % rows;
        const float *a = padded + image * padded_image_stride + row * padded_row_stride;
        const float *b = a + padded_row_stride, *c = b + padded_row_stride;
        const int64_t at = image * image_stride + row * row_stride;
        int64_t x = 0;
        for (; x + LANES <= width; x += LANES)
            lanes(a + x, b + x, c + x, gx + at + x, gy + at + x, magnitude + at + x,
                  direction + at + x);
        if (x < width) {
            /* the last columns through the same vector code, via zero-padded copies */
            float ra[LANES + 2] = {0}, rb[LANES + 2] = {0}, rc[LANES + 2] = {0};
            float o0[LANES], o1[LANES], o2[LANES], o3[LANES];
            const size_t n = (size_t)(width - x);
            memcpy(ra, a + x, (n + 2) * sizeof(float));
            memcpy(rb, b + x, (n + 2) * sizeof(float));
            memcpy(rc, c + x, (n + 2) * sizeof(float));
            lanes(ra, rb, rc, o0, o1, o2, o3);
            memcpy(gx + at + x, o0, n * sizeof(float));
            memcpy(gy + at + x, o1, n * sizeof(float));
            memcpy(magnitude + at + x, o2, n * sizeof(float));
            memcpy(direction + at + x, o3, n * sizeof(float));
        }
    }
    return LANES;
}
