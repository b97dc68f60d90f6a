/* Refunder order panel: review, confirm, follow the status until it is final. No dependencies. */
( function() {
	'use strict';
	const cfg = window.RefunderPanel;

	function post( panel, action, data ) {
		const body = data instanceof FormData ? data : new FormData();
		body.append( 'action', action );
		body.append( 'order_id', panel.dataset.orderId );
		body.append( 'nonce', panel.dataset.nonce );
		return fetch( cfg.ajaxUrl, { method: 'POST', body, credentials: 'same-origin' } )
			.then( function( response ) {
				return response.json().catch( function() {
					return { success: false, data: { message: cfg.i18n.failed } };
				} );
			} )
			.then( function( json ) {
				if ( ! json || ! json.success ) {
					throw new Error( ( json && json.data && json.data.message ) || cfg.i18n.failed );
				}
				return json.data;
			} );
	}

	/**
	 * The panel's own fields, without their refunder_ prefix (the order screen around them is a form too).
	 *
	 * @param {HTMLElement} box The panel's review form.
	 * @return {FormData} Its fields.
	 */
	function panelData( box ) {
		const data = new FormData();
		box.querySelectorAll( 'input, textarea, select' ).forEach( function( el ) {
			if ( ! el.name || ( ( el.type === 'radio' || el.type === 'checkbox' ) && ! el.checked ) ) {
				return;
			}
			data.append( el.name.replace( /^refunder_/, '' ), el.value );
		} );
		return data;
	}

	function say( panel, text, kind ) {
		const box = panel.querySelector( '.refunder-message' );
		box.textContent = text;
		box.className = 'refunder-message' + ( kind ? ' refunder-' + kind : '' );
	}

	function follow( panel, refundId, tries ) {
		post( panel, 'refunder_status', ( function() {
			const f = new FormData(); f.append( 'refund_id', refundId ); return f;
		}() ) )
			.then( function( shown ) {
				say( panel, shown.message, shown.status );
				if ( shown.final ) {
					window.setTimeout( function() {
						window.location.reload();
					}, 1500 );
				} else if ( tries > 0 ) {
					window.setTimeout( function() {
						follow( panel, refundId, tries - 1 );
					}, 3000 );
				}
			} )
			.catch( function( error ) {
				say( panel, error.message, 'failed' );
			} );
	}

	function setup( panel ) {
		const form = panel.querySelector( '.refunder-form' );
		let token = null;
		if ( form ) {
			const review = form.querySelector( '.refunder-review-box' );
			const fields = form.querySelector( 'fieldset' );
			panel.querySelector( '.refunder-open' ).addEventListener( 'click', function() {
				form.hidden = ! form.hidden;
			} );
			form.addEventListener( 'keydown', function( event ) {
				if ( event.key === 'Enter' && event.target.tagName === 'INPUT' ) {
					event.preventDefault();
				}
			} );
			form.querySelector( '.refunder-review' ).addEventListener( 'click', function() {
				say( panel, cfg.i18n.working );
				post( panel, 'refunder_review', panelData( form ) )
					.then( function( data ) {
						token = data.token;
						const text = review.querySelector( '.refunder-review-text' );
						text.textContent = '';
						const head = document.createElement( 'p' );
						head.className = 'refunder-review-amount';
						head.textContent = cfg.i18n.reviewText + ' ' + data.amount + ' ' + cfg.i18n.through + ' ' + data.provider + '.';
						text.appendChild( head );
						if ( data.lines.length ) {
							const list = document.createElement( 'ul' );
							data.lines.forEach( function( line ) {
								const li = document.createElement( 'li' ); li.textContent = line; list.appendChild( li );
							} );
							text.appendChild( list );
						}
						const why = document.createElement( 'p' );
						why.textContent = cfg.i18n.reason + ': ' + data.reason + '. ' + cfg.i18n.left + ': ' + data.remaining + '.';
						text.appendChild( why );
						review.hidden = false;
						fields.disabled = true;
						form.querySelector( '.refunder-review' ).hidden = true;
						say( panel, '' );
					} )
					.catch( function( error ) {
						say( panel, error.message, 'failed' );
					} );
			} );
			form.querySelector( '.refunder-edit' ).addEventListener( 'click', function() {
				review.hidden = true;
				fields.disabled = false;
				form.querySelector( '.refunder-review' ).hidden = false;
				token = null;
			} );
			const confirm = form.querySelector( '.refunder-confirm' );
			confirm.addEventListener( 'click', function() {
				if ( ! token ) {
					return;
				}
				confirm.disabled = true;
				say( panel, cfg.i18n.working );
				const data = new FormData();
				data.append( 'token', token );
				post( panel, 'refunder_confirm', data )
					.then( function( shown ) {
						say( panel, shown.message, shown.status );
						if ( shown.final ) {
							window.setTimeout( function() {
								window.location.reload();
							}, 1500 );
						} else {
							follow( panel, shown.id, 40 );
						}
					} )
					.catch( function( error ) {
						confirm.disabled = false; say( panel, error.message, 'failed' );
					} );
			} );
		}
		panel.querySelectorAll( '.refunder-refund[data-final="0"]' ).forEach( function( row ) {
			follow( panel, row.dataset.refundId, 40 );
		} );
	}

	document.querySelectorAll( '.refunder-panel' ).forEach( setup );
}() );
