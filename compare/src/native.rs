//! The kernel suite (`benches/kernels/*.egir`) in plain Rust, compiled by rustc with the
//! rest of this crate: the limit the JITs are measured against. Each function computes
//! what its kernel's `main` does, memory kernels in a byte array of the kernel's size,
//! with an access past it reported as egjit reports it.

const OUT_OF_BOUNDS: &str = "out of bounds memory access";

/// Runs the kernel named `name` with `arg`: its result as an `i64` (an `i32` kernel's
/// sign-extended), or a trap's message; `None` for a name that is not a kernel.
pub fn run(name: &str, arg: i64) -> Option<Result<i64, String>> {
    Some(match name {
        "arith" => Ok(arith(arg)),
        "bitmix" => Ok(bitmix(arg)),
        "collatz" => Ok(collatz(arg)),
        "fib" => Ok(fib(arg)),
        "gcd" => Ok(gcd(arg as i32) as i64),
        "matmul" => matmul(arg as i32).map(|v| v as i64),
        "sieve" => sieve(arg as i32).map(|v| v as i64),
        _ => return None,
    })
}

/// The sum of `(i*i + 3*i + 7) ^ (i >> 2)` over `0 <= i < n`, wrapping.
#[inline(never)]
pub fn arith(n: i64) -> i64 {
    let (mut sum, mut i) = (0i64, 0i64);
    while i < n {
        let t = i
            .wrapping_mul(i)
            .wrapping_add(i.wrapping_mul(3))
            .wrapping_add(7);
        sum = sum.wrapping_add(t ^ ((i as u64) >> 2) as i64);
        i += 1;
    }
    sum
}

/// `n` xorshift steps of a state from 1, each accumulating `rotl(x * K, 17) ^
/// popcount(x * K)`.
#[inline(never)]
pub fn bitmix(n: i64) -> i64 {
    const K: u64 = 2685821657736338717;
    let (mut i, mut x, mut acc) = (0u64, 1u64, 0u64);
    while i < n as u64 {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let y = x.wrapping_mul(K);
        acc = acc.wrapping_add(y.rotate_left(17) ^ y.count_ones() as u64);
        i += 1;
    }
    acc as i64
}

/// The total number of Collatz steps to reach 1 over the starts `1..=n`.
#[inline(never)]
pub fn collatz(n: i64) -> i64 {
    let mut total = 0i64;
    let mut start = 1i64;
    while start <= n {
        let mut x = start;
        while x != 1 {
            x = if x & 1 != 0 {
                x.wrapping_mul(3).wrapping_add(1)
            } else {
                ((x as u64) >> 1) as i64
            };
            total += 1;
        }
        start += 1;
    }
    total
}

/// Fibonacci by two recursive calls a level.
#[inline(never)]
pub fn fib(n: i64) -> i64 {
    if n < 2 {
        n
    } else {
        fib(n - 1).wrapping_add(fib(n - 2))
    }
}

/// The sum of `gcd(i, j)` for `1 <= i, j <= n`, by Euclid with unsigned remainders.
#[inline(never)]
pub fn gcd(n: i32) -> i32 {
    let mut sum = 0i32;
    let mut i = 1i32;
    while i <= n {
        let mut j = 1i32;
        while j <= n {
            let (mut a, mut b) = (i as u32, j as u32);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            sum = sum.wrapping_add(a as i32);
            j += 1;
        }
        i += 1;
    }
    sum
}

/// A little-endian `i32` at byte `at` of `mem`.
fn load(mem: &[u8], at: u32) -> Result<i32, String> {
    let at = at as usize;
    let b = mem.get(at..at + 4).ok_or(OUT_OF_BOUNDS)?;
    Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Stores `v` little-endian at byte `at` of `mem`.
fn store(mem: &mut [u8], at: u32, v: i32) -> Result<(), String> {
    let at = at as usize;
    let b = mem.get_mut(at..at + 4).ok_or(OUT_OF_BOUNDS)?;
    b.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// Fills A and B (`n` x `n`, row-major), stores C = A B after them in one 64 KiB page and
/// returns the wrapping sum of C.
#[inline(never)]
pub fn matmul(n: i32) -> Result<i32, String> {
    let mut mem = vec![0u8; 65536];
    let nn = n.wrapping_mul(n) as u32;
    let (b_base, c_base) = (4u32.wrapping_mul(nn), 8u32.wrapping_mul(nn));
    let mut e = 0u32;
    while e < nn {
        store(&mut mem, e << 2, (e & 63) as i32 - 30)?;
        let b = (e.wrapping_mul(3) & 127) as i32 - 60;
        store(&mut mem, (e << 2).wrapping_add(b_base), b)?;
        e += 1;
    }
    let mut sum = 0i32;
    for i in 0..n.max(0) {
        for j in 0..n {
            let mut acc = 0i32;
            for k in 0..n {
                let a = load(&mem, ((i * n + k) as u32) << 2)?;
                let b = load(&mem, (((k * n + j) as u32) << 2).wrapping_add(b_base))?;
                acc = acc.wrapping_add(a.wrapping_mul(b));
            }
            store(
                &mut mem,
                (((i * n + j) as u32) << 2).wrapping_add(c_base),
                acc,
            )?;
            sum = sum.wrapping_add(acc);
        }
    }
    Ok(sum)
}

/// The number of primes below `n` by the sieve of Eratosthenes, a byte a number in two
/// 64 KiB pages.
#[inline(never)]
pub fn sieve(n: i32) -> Result<i32, String> {
    let mut mem = vec![0u8; 2 * 65536];
    let mut i = 0u32;
    while i < n as u32 {
        *mem.get_mut(i as usize).ok_or(OUT_OF_BOUNDS)? = 0;
        i += 1;
    }
    let mut count = 0i32;
    let mut i = 2i32;
    while i < n {
        if *mem.get(i as u32 as usize).ok_or(OUT_OF_BOUNDS)? == 0 {
            count += 1;
            let mut j = i.wrapping_add(i);
            while j < n {
                *mem.get_mut(j as u32 as usize).ok_or(OUT_OF_BOUNDS)? = 1;
                j = j.wrapping_add(i);
            }
        }
        i += 1;
    }
    Ok(count)
}
