<?php
/**
 * A stand-in for the Action Scheduler that WooCommerce bundles: the as_* functions the plugin calls, on
 * WP-Cron (run by wp-cron.php). Groups are kept in the event's name; an action's args are its cron args.
 */

final class ActionScheduler_Store {
	const STATUS_PENDING = 'pending';
	const STATUS_RUNNING = 'in-progress';
}

/** @return array<int, array{0: int, 1: string, 2: array}> pending events: time, hook, args */
function wc_double_scheduled() {
	$found = array();
	foreach ( (array) _get_cron_array() as $time => $hooks ) {
		foreach ( (array) $hooks as $hook => $events ) {
			foreach ( (array) $events as $event ) {
				$found[] = array( (int) $time, $hook, (array) $event['args'] );
			}
		}
	}
	return $found;
}

/** $unique as Action Scheduler's own store has it: any waiting action of the hook, whatever its args. */
function as_schedule_single_action( $timestamp, $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
	if ( $unique && as_has_scheduled_action( $hook, null, $group ) ) {
		return 0;
	}
	return wp_schedule_single_event( (int) $timestamp, $hook, array_values( $args ) ) ? 1 : 0;
}

function as_enqueue_async_action( $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
	return as_schedule_single_action( time(), $hook, $args, $group, $unique, $priority );
}

function as_schedule_recurring_action( $timestamp, $interval_in_seconds, $hook, $args = array(), $group = '', $unique = false, $priority = 10 ) {
	if ( $unique && as_has_scheduled_action( $hook, null, $group ) ) {
		return 0;
	}
	$schedule = 'hourly';
	foreach ( wp_get_schedules() as $name => $known ) {
		if ( (int) $known['interval'] === (int) $interval_in_seconds ) {
			$schedule = $name;
		}
	}
	return wp_schedule_event( (int) $timestamp, $schedule, $hook, array_values( $args ) ) ? 1 : 0;
}

function as_get_scheduled_actions( $args = array(), $return_format = OBJECT ) {
	$ids = array();
	foreach ( wc_double_scheduled() as $i => list( $time, $hook, $event_args ) ) {
		if ( ( $args['hook'] ?? $hook ) === $hook && ( ! isset( $args['args'] ) || array_values( $args['args'] ) === $event_args ) ) {
			$ids[] = $i + 1;
		}
	}
	return $ids;
}

function as_has_scheduled_action( $hook, $args = null, $group = '' ) {
	return (bool) as_get_scheduled_actions( null === $args ? array( 'hook' => $hook ) : array( 'hook' => $hook, 'args' => $args ) );
}

function as_next_scheduled_action( $hook, $args = null, $group = '' ) {
	foreach ( wc_double_scheduled() as list( $time, $event_hook, $event_args ) ) {
		if ( $event_hook === $hook && ( null === $args || array_values( $args ) === $event_args ) ) {
			return $time;
		}
	}
	return false;
}

/** An empty hook: every action of the group (the double: every hook named after the group). */
function as_unschedule_all_actions( $hook, $args = array(), $group = '' ) {
	foreach ( wc_double_scheduled() as list( $time, $event_hook, $event_args ) ) {
		$matches = '' === $hook ? ( '' !== $group && 0 === strpos( $event_hook, $group . '_' ) ) : $event_hook === $hook;
		if ( $matches && ( '' === $hook || ! $args || array_values( $args ) === $event_args ) ) {
			wp_unschedule_event( $time, $event_hook, $event_args );
		}
	}
}
