<?php
/**
 * Unit tests of the plugin's pure parts, without WordPress: the classes are loaded as they are,
 * and the three WordPress escaping functions they call get stand-ins that follow WordPress's
 * contract (esc_html and esc_attr encode <, >, &, " and '; esc_url keeps only known schemes).
 */

define( 'ABSPATH', __DIR__ . '/' );

$newsrec_dir = dirname( __DIR__ ) . '/newsrec/includes/';
foreach ( array( 'payload', 'policy', 'queue', 'renderer', 'settings' ) as $newsrec_name ) {
	require_once $newsrec_dir . 'class-newsrec-' . $newsrec_name . '.php';
}

if ( ! function_exists( 'esc_html' ) ) {
	function esc_html( $text ) {
		return htmlspecialchars( (string) $text, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8' );
	}
}
if ( ! function_exists( 'esc_attr' ) ) {
	function esc_attr( $text ) {
		return htmlspecialchars( (string) $text, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8' );
	}
}
if ( ! function_exists( 'esc_url' ) ) {
	function esc_url( $url ) {
		$url = (string) $url;
		if ( ! preg_match( '#^(https?|mailto):#i', $url ) ) {
			return '';
		}
		return str_replace( array( '&', "'", '"', '<', '>' ), array( '&#038;', '&#039;', '&#034;', '%3C', '%3E' ), $url );
	}
}
