/* Refunder bulk refund page: follows a running bulk refund until it is done (and why any booking was not
   refunded), then offers its report. */
( function() {
	'use strict';
	const cfg = window.RefunderBulk;
	const box = document.querySelector( '.refunder-bulk-progress' );
	if ( ! cfg || ! box ) {
		return;
	}
	const bar = box.querySelector( 'progress' );
	const text = box.querySelector( '.refunder-bulk-text' );
	const report = box.querySelector( '.refunder-bulk-report' );
	const problems = box.querySelector( '.refunder-bulk-problems' );

	/**
	 * Lists the bookings that failed or were skipped, each with why (sentences WordPress translated).
	 *
	 * @param {string[]} lines "Order 1042: why", one per booking.
	 */
	function showProblems( lines ) {
		const list = problems.querySelector( 'ul' );
		list.replaceChildren(
			...lines.map( function( line ) {
				const item = document.createElement( 'li' );
				item.textContent = line;
				return item;
			} ),
		);
		problems.hidden = lines.length === 0;
	}

	/**
	 * Asks WordPress how far the job has come.
	 *
	 * @return {Promise<{status: number, json: Object}>} The HTTP status and the answer.
	 */
	function ask() {
		const body = new FormData();
		body.append( 'action', 'refunder_bulk_status' );
		body.append( 'job', box.dataset.job );
		body.append( 'nonce', box.dataset.nonce );
		return fetch( cfg.ajaxUrl, { method: 'POST', body, credentials: 'same-origin' } ).then(
			function( response ) {
				return response
					.json()
					.catch( function() {
						return { success: false, data: { message: cfg.i18n.failed } };
					} )
					.then( function( json ) {
						return { status: response.status, json };
					} );
			},
		);
	}

	function poll() {
		ask()
			.then( function( answer ) {
				const data = answer.json && answer.json.data ? answer.json.data : {};
				if ( ! answer.json || ! answer.json.success ) {
					text.textContent = data.message || cfg.i18n.failed;
					// The service or a provider is down (5xx): the job goes on; ask again later.
					if ( answer.status >= 500 ) {
						window.setTimeout( poll, cfg.retryMs );
					}
					return;
				}
				bar.max = data.total;
				bar.value = data.finished;
				text.textContent = data.text;
				showProblems( data.problems || [] );
				if ( data.done ) {
					report.hidden = false;
				} else {
					window.setTimeout( poll, cfg.pollMs );
				}
			} )
			.catch( function() {
				text.textContent = cfg.i18n.unreachable;
				window.setTimeout( poll, cfg.retryMs );
			} );
	}

	poll();
}() );
