//! Entered random streams: nesting, re-entry, states that share a thread,
//! guards dropped out of order, and a stream that moves between threads
//! all keep each stream's one sequence of numbers.

use zephyr_lua::random::{Stream, StreamKind};
use zephyr_lua::{ScriptError, ScriptState, StateConfig};

fn state() -> ScriptState {
    ScriptState::new(&StateConfig::default(), |_, _| Ok(())).expect("state")
}

fn draw(state: &ScriptState) -> Result<String, ScriptError> {
    Ok(state.execute("return math.random(1, 1000000000)", "draw")?[0].to_string())
}

fn stream(id: u64) -> Stream {
    Stream::derived(7, StreamKind::Behaviour, id)
}

/// The first `n` numbers of a fresh copy of stream `id`, entered alone.
fn sequence(id: u64, n: usize) -> Vec<String> {
    let state = state();
    let fresh = stream(id);
    let _entered = state.enter_stream(&fresh);
    (0..n).map(|_| draw(&state).expect("draw")).collect()
}

#[test]
fn a_stream_entered_again_inside_another_goes_on_from_where_it_was() -> Result<(), ScriptError> {
    let state = state();
    let (a, b) = (stream(1), stream(2));
    let mut from_a = Vec::new();
    let mut from_b = Vec::new();
    {
        let _a = state.enter_stream(&a);
        from_a.push(draw(&state)?);
        {
            let _b = state.enter_stream(&b);
            from_b.push(draw(&state)?);
            {
                // a's callback reached again through b's (a message back).
                let _a_again = state.enter_stream(&a);
                from_a.push(draw(&state)?);
                assert_eq!(a.peek(), stream_after(1, 2), "peek sees the entered copy");
            }
            from_b.push(draw(&state)?);
        }
        from_a.push(draw(&state)?);
    }
    {
        let _b = state.enter_stream(&b);
        from_b.push(draw(&state)?);
    }
    assert_eq!(from_a, sequence(1, 3));
    assert_eq!(from_b, sequence(2, 3));
    Ok(())
}

/// The raw value stream `id` gives after `draws` draws.
fn stream_after(id: u64, draws: usize) -> u64 {
    let state = state();
    let fresh = stream(id);
    let _entered = state.enter_stream(&fresh);
    for _ in 0..draws {
        draw(&state).expect("draw");
    }
    fresh.peek()
}

#[test]
fn a_state_without_an_entered_stream_draws_from_its_own_whatever_another_state_entered()
-> Result<(), ScriptError> {
    let (main, lane) = (state(), state());
    let own_first = draw(&state())?;
    let a = stream(1);
    let _a = main.enter_stream(&a);
    // The lane state runs on this thread too, with nothing entered on it.
    assert_eq!(draw(&lane)?, own_first);
    assert_eq!(draw(&main)?, sequence(1, 1)[0]);
    Ok(())
}

#[test]
fn guards_dropped_out_of_order_lose_no_numbers() -> Result<(), ScriptError> {
    let state = state();
    let (a, b) = (stream(1), stream(2));
    let outer = state.enter_stream(&a);
    let first_a = draw(&state)?;
    let inner = state.enter_stream(&b);
    let first_b = draw(&state)?;
    drop(outer);
    // b is still entered: the state draws from it.
    let second_b = draw(&state)?;
    drop(inner);
    let rest_a: Vec<String> = {
        let _a = state.enter_stream(&a);
        (0..2).map(|_| draw(&state)).collect::<Result<_, _>>()?
    };
    assert_eq!(vec![first_b, second_b], sequence(2, 2));
    assert_eq!(
        [vec![first_a], rest_a].concat(),
        sequence(1, 3),
        "a's numbers go on from its first draw"
    );
    Ok(())
}

#[test]
fn a_stream_goes_on_when_another_thread_enters_it_next() -> Result<(), ScriptError> {
    let a = stream(1);
    let first = {
        let state = state();
        let _a = state.enter_stream(&a);
        draw(&state)?
    };
    let moved = a.clone();
    let second = std::thread::spawn(move || {
        let state = state();
        let _a = state.enter_stream(&moved);
        draw(&state)
    })
    .join()
    .expect("thread")?;
    assert_eq!(vec![first, second], sequence(1, 2));
    Ok(())
}

#[test]
fn a_bad_argument_uses_a_number_up_as_lua_s_does() -> Result<(), ScriptError> {
    // What comes after a call that fails, against what comes after one
    // `math.random(0)` (exactly one number, nothing projected), on the
    // same fresh stream.
    let next_after = |call: &str| -> Result<(String, String), ScriptError> {
        let state = state();
        let a = stream(1);
        let _a = state.enter_stream(&a);
        let values = state.execute(
            format!("local ok, e = pcall({call}) return tostring(e), math.random(1, 1000000000)"),
            "bad",
        )?;
        Ok((values[0].to_string(), values[1].to_string()))
    };
    let (_, after_one) = next_after("math.random, 0")?;
    for (call, why) in [
        ("math.random, 'x'", "number expected, got string"),
        ("math.random, 5, 1", "interval is empty"),
        ("math.random, 1.5", "number has no integer representation"),
        ("math.random, 1, 2, 3", "wrong number of arguments"),
    ] {
        let (error, next) = next_after(call)?;
        assert!(error.contains(why), "{call}: {error}");
        assert_eq!(next, after_one, "{call}");
    }
    Ok(())
}

/// The numbers job `id` draws with `source` on `state`, as text.
fn job_draws(state: &ScriptState, id: u64, source: &str) -> Vec<String> {
    let (values, _) = state.execute_job(id, source.as_bytes(), "job", &[]);
    values
        .expect("the job runs")
        .iter()
        .map(ToString::to_string)
        .collect()
}

const THREE_DRAWS: &str = "return math.random(1, 1000000000), math.random(1, 1000000000), \
                           math.random(1, 1000000000)";

#[test]
fn a_job_draws_its_own_sequence_whatever_ran_on_the_state_before() {
    let fresh = job_draws(&state(), 5, THREE_DRAWS);
    let used = state();
    job_draws(&used, 6, THREE_DRAWS);
    job_draws(&used, 5, "return math.random()");
    assert_eq!(job_draws(&used, 5, THREE_DRAWS), fresh);
    assert_ne!(job_draws(&used, 6, THREE_DRAWS), fresh);
}

#[test]
fn a_job_run_inside_another_on_the_same_state_keeps_both_sequences() {
    // `inner()` runs job 7 on the very state that runs the outer job.
    let cell: std::sync::Arc<std::sync::OnceLock<std::sync::Weak<ScriptState>>> =
        std::sync::Arc::default();
    let reach = cell.clone();
    let state = std::sync::Arc::new(
        ScriptState::new(&StateConfig::default(), move |lua, api| {
            api.set(
                "inner",
                lua.create_function(move |_, ()| {
                    let state = reach
                        .get()
                        .and_then(std::sync::Weak::upgrade)
                        .expect("state");
                    Ok(job_draws(&state, 7, "return math.random(1, 1000000000)").join(","))
                })?,
            )
        })
        .expect("state"),
    );
    cell.set(std::sync::Arc::downgrade(&state))
        .expect("set once");
    let outer = job_draws(
        &state,
        5,
        "local a = math.random(1, 1000000000) local inner = inner() \
         local b = math.random(1, 1000000000) return a, b, inner",
    );
    let alone = job_draws(&crate::state(), 5, THREE_DRAWS);
    assert_eq!(outer[..2], alone[..2], "the outer job's sequence goes on");
    assert_eq!(
        outer[2],
        job_draws(&crate::state(), 7, "return math.random(1, 1000000000)")[0],
        "the inner job draws its own"
    );
}
